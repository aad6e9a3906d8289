// Lesson 12, experiment 2 in Kotlin: a CPU hog beside a 1 ms heartbeat, both coroutines in
// runBlocking's one-thread event loop. delay(1) suspends the heartbeat; the hog never suspends,
// so nothing can run beside it: kotlinx.coroutines has no preemption (a coroutine gives up its
// thread only at a suspension point; the docs' advice for CPU loops is to call yield() or check
// isActive), and the heartbeat is silent until the hog ends.
//
// Usage: starve <hog_ms>   (the line format is lesson 12's contract, see polyglot.py)
import kotlinx.coroutines.*

val start = System.nanoTime()
fun ms(): Double = (System.nanoTime() - start) / 1e6
fun say(line: String) { println(line); System.out.flush() }

fun main(args: Array<String>) = runBlocking {
    val hogMs = args[0].toDouble()
    var beats = 0
    var hogEndedAt = -1
    val heart = launch {
        while (true) {
            delay(1)
            say("beat %.3f".format(ms()))
            beats++
            if (hogEndedAt >= 0 && beats >= hogEndedAt + 20) break
        }
    }
    while (beats < 20) yield()             // the hog starts after 20 beats
    val t0 = ms()
    say("hog_start %.3f".format(t0))
    var x = 0L
    while (ms() - t0 < hogMs) x += 1       // spins: no suspension point, so no switch
    say("hog_end %.3f".format(ms()))
    hogEndedAt = beats
    heart.join()
    say("runtime Kotlin ${KotlinVersion.CURRENT}, kotlinx.coroutines runBlocking (one thread), " +
        "JVM ${System.getProperty("java.version")}")
}
