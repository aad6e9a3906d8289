// Lesson 12, experiment 1 in Java: a producer and a consumer thread hand items over a
// SynchronousQueue (a rendezvous: put() returns only when take() has the item) and an ack queue.
//
// Usage: java Pipeline <platform|virtual> <trace_n> <timed_n>
//   platform - two ordinary threads, each an OS thread: a hand-off is a kernel futex wake-up and
//              a context switch (on one CPU under taskset -c 0).
//   virtual  - two virtual threads (JEP 444, final in Java 21). Run with
//                -Djdk.virtualThreadScheduler.parallelism=1
//                -Djdk.virtualThreadScheduler.maxPoolSize=1
//              and both share ONE carrier thread: a hand-off parks one continuation and runs the
//              other on the same OS thread, with no kernel context switch.
// Line format: lesson 12's contract (produce/consume trace, handoff_ns, runtime; see polyglot.py).
// Build: javac --release 17 -d <dir> Pipeline.java. javac 17 has no virtual-thread API, so
// Thread.ofVirtual() is called by reflection; on a JVM older than 21, "virtual" exits 3.
//
// Sources:
// - JEP 444 (https://openjdk.org/jeps/444), "Scheduling virtual threads": the scheduler is a FIFO
//   ForkJoinPool whose parallelism and size the two system properties above set. Property names
//   checked in java.lang.VirtualThread.createDefaultScheduler() (JDK 21 and JDK 25 sources).
// - java.util.concurrent.SynchronousQueue (Java SE API): "each insert operation must wait for a
//   corresponding remove operation by another thread". When a virtual thread waits there it parks
//   (LockSupport.park), and a parked virtual thread unmounts from its carrier (JEP 444).
// - JIT warm-up: HotSpot first interprets the loops and compiles them only once they are hot, so
//   timed_n untimed round trips run before the timed ones (no output). Without them, on the run
//   of this file's author (Java 25, virtual, one CPU, timed_n=20000) handoff_ns was several times
//   higher.
import java.lang.reflect.Method;
import java.util.Locale;
import java.util.concurrent.SynchronousQueue;

public class Pipeline {
    static void say(String line) { System.out.println(line); System.out.flush(); }

    /** Starts r on a new platform thread, or on a virtual thread found by reflection. */
    static Thread start(boolean virtual, Runnable r) throws Exception {
        if (!virtual) {
            Thread t = new Thread(r);
            t.start();
            return t;
        }
        Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
        // Call start through the public interface Thread.Builder: the builder's own class is
        // internal to java.base, so reflection on builder.getClass() would be refused.
        Method startM = Class.forName("java.lang.Thread$Builder")
            .getMethod("start", Runnable.class);
        return (Thread) startM.invoke(builder, r);
    }

    static String runtimeLine(boolean virtual) {
        String jvm = "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")";
        if (!virtual) return jvm + ", platform threads (OS threads), SynchronousQueue";
        return jvm + ", virtual threads, scheduler parallelism="
            + System.getProperty("jdk.virtualThreadScheduler.parallelism", "default")
            + " maxPoolSize="
            + System.getProperty("jdk.virtualThreadScheduler.maxPoolSize", "default")
            + ", SynchronousQueue";
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3 || !(args[0].equals("platform") || args[0].equals("virtual"))) {
            System.err.println("usage: Pipeline <platform|virtual> <trace_n> <timed_n>");
            System.exit(2);
        }
        boolean virtual = args[0].equals("virtual");
        if (virtual && Runtime.version().feature() < 21) {
            System.err.println("error: virtual threads need Java 21+");
            System.exit(3);
        }
        int traceN = Integer.parseInt(args[1]);
        int timedN = Integer.parseInt(args[2]);
        SynchronousQueue<Integer> items = new SynchronousQueue<>();
        SynchronousQueue<Integer> acks = new SynchronousQueue<>();
        long[] elapsed = new long[1];

        Thread consumer = start(virtual, () -> {
            try {
                for (int i = 0; i < traceN + 2 * timedN; i++) {   // trace, warm-up, timed
                    Integer v = items.take();
                    if (i < traceN) say("consume " + v);
                    acks.put(v);
                }
            } catch (InterruptedException e) { throw new RuntimeException(e); }
        });
        Thread producer = start(virtual, () -> {
            try {
                for (int i = 0; i < traceN; i++) {
                    say("produce " + i);
                    items.put(i);
                    acks.take();           // wait for the ack: this forces the trace's order
                }
                for (int i = 0; i < timedN; i++) {   // warm-up: same loop, not timed
                    items.put(i);
                    acks.take();
                }
                long t0 = System.nanoTime();
                for (int i = 0; i < timedN; i++) {
                    items.put(i);
                    acks.take();
                }
                elapsed[0] = System.nanoTime() - t0;
            } catch (InterruptedException e) { throw new RuntimeException(e); }
        });
        producer.join();                   // join() makes elapsed[0] visible here
        consumer.join();
        double handoffNs = elapsed[0] / (2.0 * Math.max(timedN, 1));
        say(String.format(Locale.ROOT, "handoff_ns %.1f", handoffNs));
        say("runtime " + runtimeLine(virtual));
    }
}
