// Lesson 12, experiment 1 in Kotlin: the producer/consumer pipeline on kotlinx.coroutines.
//
// Two coroutines started by runBlocking, which runs them on ONE thread, the caller's, in an
// event loop of its own (kotlinx.coroutines' BlockingEventLoop): Kotlin's N:1 case, like asyncio.
// `suspend fun` is Kotlin's colour (KEEP "Kotlin Coroutines", kotlin/KEEP proposals/coroutines.md):
// the compiler turns each suspend function into a state machine that takes a hidden
// Continuation argument, so a coroutine is stackless, like Python's. Channel() with no capacity
// is a rendezvous, as in Go; the ack channel makes the producer wait for the consumer.
//
// Usage: pipeline <trace_n> <timed_n>   (the line format is lesson 12's contract, see polyglot.py)
import kotlinx.coroutines.*
import kotlinx.coroutines.channels.*

suspend fun roundTrips(n: Int, record: Boolean) = coroutineScope {
    val items = Channel<Int>()           // capacity 0: send waits for a receive
    val acks = Channel<Unit>()
    launch {
        for (i in 0 until n) {
            if (record) println("produce $i")
            items.send(i)
            acks.receive()               // the next item only after the consumer has seen this one
        }
        items.close()
    }
    for (i in items) {
        if (record) println("consume $i")
        acks.send(Unit)
    }
}

fun main(args: Array<String>) = runBlocking {
    val traceN = args[0].toInt()
    val timedN = args[1].toInt()
    roundTrips(traceN, true)
    val t0 = System.nanoTime()
    roundTrips(timedN, false)
    val elapsed = System.nanoTime() - t0
    println("handoff_ns %.1f".format(elapsed.toDouble() / (2.0 * timedN)))
    println("runtime Kotlin ${KotlinVersion.CURRENT}, kotlinx.coroutines runBlocking (one thread), " +
            "JVM ${System.getProperty("java.version")}")
}
