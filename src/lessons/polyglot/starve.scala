// Lesson 12, experiment 2 in Scala: a CPU hog beside a 1 ms heartbeat, both scala.actors actors.
// The heartbeat waits with reactWithin(1): a timer thread delivers TIMEOUT after 1 ms and the
// scheduler's pool runs the heartbeat's closure. The hog spins inside one message handler. An
// actor yields its pool thread only between messages, never inside one: with a pool of one
// thread (-Dactors.corePoolSize=1 -Dactors.maxPoolSize=1, read by
// scala.actors.scheduler.ThreadPoolConfig) the heartbeat is silent until the hog's handler ends.
//
// Usage: starve <hog_ms>   (the line format is lesson 12's contract, see polyglot.py)
import scala.actors.Actor
import scala.actors.Actor._
import scala.actors.TIMEOUT

case object Go
case object HogEnded

object Starve {
  val start = System.nanoTime()
  def ms(): Double = (System.nanoTime() - start) / 1e6
  def say(line: String): Unit = { println(line); System.out.flush() }

  def main(args: Array[String]): Unit = {
    val hogMs = args(0).toDouble
    val hog = actor {
      react {
        case Go =>
          val t0 = ms()
          say("hog_start %.3f".format(t0))
          var x = 0L
          while (ms() - t0 < hogMs) x += 1     // no message handled until this returns
          say("hog_end %.3f".format(ms()))
          sender ! HogEnded
      }
    }
    actor {
      var beats = 0
      var after = -1
      loopWhile(after < 20) {
        reactWithin(1) {
          case TIMEOUT =>
            say("beat %.3f".format(ms()))
            beats += 1
            if (after >= 0) after += 1
            if (beats == 20) hog ! Go
          case HogEnded => after = 0
        }
      } andThen {
        say("runtime Scala " + util.Properties.versionNumberString + " scala.actors (react), pool " +
          sys.props.getOrElse("actors.corePoolSize", "default") + " thread(s), JVM " +
          sys.props("java.version"))
        sys.exit(0)
      }
    }
  }
}
