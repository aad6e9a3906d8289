// Lesson 12, experiment 2 in Java: a CPU hog beside a 1 ms heartbeat (Thread.sleep(1)).
//
// Usage: java Starve <platform|virtual> <hog_ms>
//   platform - two OS threads. The kernel preempts the hog, so the beats go on even with the
//              whole JVM pinned to one CPU (taskset -c 0).
//   virtual  - two virtual threads on ONE carrier: run with
//                -Djdk.virtualThreadScheduler.parallelism=1
//                -Djdk.virtualThreadScheduler.maxPoolSize=1
//              The hog never blocks, so it never unmounts: the heartbeat's sleep ends on time, but
//              its continuation waits in the scheduler's queue until the carrier is free again.
// Line format: lesson 12's contract (beat / hog_start / hog_end / runtime; see polyglot.py).
// Build: javac --release 17 -d <dir> Starve.java (virtual threads by reflection; a JVM older than
// 21 with "virtual" prints an error and exits 3).
//
// Sources:
// - JEP 444 (https://openjdk.org/jeps/444), "Scheduling virtual threads": "The scheduler does not
//   currently implement time sharing for virtual threads. Time sharing is the forceful preemption
//   of a thread that has consumed an allotted quantity of CPU time." A virtual thread leaves its
//   carrier only when it blocks (parks), as Thread.sleep and CountDownLatch.await do, or yields.
// - java.lang.VirtualThread.createDefaultScheduler() (JDK 21 and JDK 25 sources): reads the system
//   properties jdk.virtualThreadScheduler.parallelism / .maxPoolSize / .minRunnable. Capping
//   maxPoolSize at 1 also stops the pool from adding a carrier to compensate for a blocked one.
// - JEP 491 (https://openjdk.org/jeps/491, Java 24): before it, a virtual thread that blocked
//   inside a synchronized block or method stayed "pinned" to its carrier; since Java 24 it
//   unmounts there too, like anywhere else. That changes blocking, not computing: our hog holds
//   no lock and never blocks, so it keeps its carrier on Java 21 and on Java 25 alike.
import java.lang.reflect.Method;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

public class Starve {
    static final long START = System.nanoTime();
    static double ms() { return (System.nanoTime() - START) / 1e6; }
    static void say(String fmt, Object... a) {
        System.out.println(String.format(Locale.ROOT, fmt, a));
        System.out.flush();               // a killed run still shows every beat so far
    }

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
        if (!virtual) return jvm + ", platform threads (OS threads, preempted by the kernel)";
        return jvm + ", virtual threads (no time sharing), scheduler parallelism="
            + System.getProperty("jdk.virtualThreadScheduler.parallelism", "default")
            + " maxPoolSize="
            + System.getProperty("jdk.virtualThreadScheduler.maxPoolSize", "default");
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 2 || !(args[0].equals("platform") || args[0].equals("virtual"))) {
            System.err.println("usage: Starve <platform|virtual> <hog_ms>");
            System.exit(2);
        }
        boolean virtual = args[0].equals("virtual");
        if (virtual && Runtime.version().feature() < 21) {
            System.err.println("error: virtual threads need Java 21+");
            System.exit(3);
        }
        double hogMs = Double.parseDouble(args[1]);
        AtomicInteger beats = new AtomicInteger();
        CountDownLatch twenty = new CountDownLatch(1);
        AtomicInteger hogEndedAt = new AtomicInteger(-1);   // beat count at hog_end

        Thread heart = start(virtual, () -> {
            try {
                while (true) {
                    Thread.sleep(1);
                    say("beat %.3f", ms());
                    int n = beats.incrementAndGet();
                    if (n == 20) twenty.countDown();
                    int end = hogEndedAt.get();
                    if (end >= 0 && n >= end + 20) break;
                }
            } catch (InterruptedException e) { throw new RuntimeException(e); }
        });
        // The hog is a thread of the same kind, so in "virtual" mode it shares the one carrier.
        Thread hog = start(virtual, () -> {
            try {
                twenty.await();            // blocks (parks) until the 20th beat
            } catch (InterruptedException e) { throw new RuntimeException(e); }
            double t0 = ms();
            say("hog_start %.3f", t0);
            long x = 0;
            while (ms() - t0 < hogMs) x++;   // no blocking call: nothing here can unmount it
            say("hog_end %.3f", ms());
            hogEndedAt.set(beats.get());
        });
        hog.join();
        heart.join();
        say("runtime %s", runtimeLine(virtual));
    }
}
