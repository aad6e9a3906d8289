// Lesson 12, experiment 1 in Scala: the producer/consumer pipeline with Scala's own actors
// (scala.actors, deprecated since Scala 2.10 in favour of Akka, still shipped as
// scala-actors.jar with Scala 2.11.12, Debian 12's).
//
// Both actors use `react`, not `receive`: a react-based actor owns no thread. react never
// returns; it stores the rest of the actor as a closure and unwinds the thread's stack (with a
// control exception), and the scheduler's pool runs that closure when a message arrives. So an
// actor waiting in react is stackless: a closure on the heap, like a Python coroutine's frame.
// (receive, by contrast, blocks its thread.) The ack makes the producer wait for the consumer.
//
// Usage: pipeline <trace_n> <timed_n>   (the line format is lesson 12's contract, see polyglot.py)
import scala.actors.Actor
import scala.actors.Actor._
import scala.concurrent.SyncVar

case class Item(i: Int, from: Actor)
case object Ack
case object Stop

object Pipeline {
  def roundTrips(n: Int, record: Boolean): Unit = {
    val done = new SyncVar[Boolean]
    val consumer = actor {
      loop {
        react {
          case Item(i, from) => if (record) println("consume " + i); from ! Ack
          case Stop => exit()
        }
      }
    }
    actor {
      var i = 0
      loopWhile(i <= n) {
        if (i == n) { consumer ! Stop; done.put(true); i += 1 }
        else {
          if (record) println("produce " + i)
          consumer ! Item(i, self)
          react { case Ack => i += 1 }       // the next item only after the consumer's ack
        }
      }
    }
    done.get
  }

  def main(args: Array[String]): Unit = {
    val traceN = args(0).toInt
    val timedN = args(1).toInt
    roundTrips(traceN, true)
    val t0 = System.nanoTime()
    roundTrips(timedN, false)
    val elapsed = System.nanoTime() - t0
    println("handoff_ns %.1f".format(elapsed.toDouble / (2.0 * timedN)))
    println("runtime Scala " + util.Properties.versionNumberString + " scala.actors (react), pool " +
      sys.props.getOrElse("actors.corePoolSize", "default") + " thread(s), JVM " +
      sys.props("java.version"))
    sys.exit(0)
  }
}
