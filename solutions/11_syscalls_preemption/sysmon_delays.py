"""Task 11.1: sysmon's sleep schedule (系统监控线程 sysmon 的休眠节奏), round by round.

sysmon is the Go runtime's monitor thread: it runs without a P, in a loop of its own, and
each round it sleeps, then calls retake() to preempt goroutines past their time slice and to
take Ps away from threads stuck in system calls. How long it sleeps depends on whether it has
been finding work. The loop, in Go 1.27.3 (src/runtime/proc.go, func sysmon; the same lines
in Go 1.24.11):

    idle := 0 // how many cycles in succession we had not wokeup somebody
    delay := uint32(0)
    for {
        if idle == 0 { // start with 20us sleep...
            delay = 20
        } else if idle > 50 { // start doubling the sleep after 1ms...
            delay *= 2
        }
        if delay > 10*1000 { // up to 10ms
            delay = 10 * 1000
        }
        usleep(delay)
        ...
        if retake(now) != 0 {
            idle = 0
        } else {
            idle++
        }
        ...
    }

(The loop can also park sysmon for much longer, in notetsleep, when every P is idle or the
world is stopping for a GC; when a notewakeup rather than the timeout ends that sleep - a
goroutine entering or leaving a syscall, or startTheWorld - it sets idle = 0 and delay = 20.
This task models the usleep schedule only.)

Write two functions; delays are in microseconds, as usleep takes them.

sysmon_delays(retook)
  retook[i] says whether retake() retook anything (returned non-zero) in round i. Return the
  list of the delays sysmon sleeps before each round: one int per round, as many as there
  are entries in retook. Rules, each one checked:
  1. The first round sleeps 20: idle starts at 0, and idle == 0 sets delay to 20.
  2. idle counts the rounds in a row that retook nothing; a round that retook sets it to 0,
     so the NEXT round sleeps 20 again. A round's own result comes after its sleep: delay i
     depends on retook[0], ..., retook[i - 1] only (the last entry changes nothing).
  3. While 1 <= idle <= 50 the delay stays what it was (20 us: 51 rounds of 20 us, "after
     1ms"); once idle > 50 it doubles every round: 40, 80, 160, ...
  4. The cap comes after the doubling: a delay above 10000 becomes 10000 (and Go keeps the
     capped value), so 5120 doubles to 10240, which is slept as 10000, and every later idle
     round sleeps 10000.
  5. retook must be a list of bools (True or False). Anything else - a tuple, a generator,
     None, or a list holding 0, 1, None or a str - raises TypeError. [] gives [].

sysmon_sleep(idle)
  The delay sysmon sleeps before a round when the `idle` rounds before it, in a row, retook
  nothing (and the one before those retook something, or there was none). The schedule has
  no other state: the delay is a function of idle alone.
  6. sysmon_sleep(0) ... sysmon_sleep(50) are 20, sysmon_sleep(51) is 40, and from
     sysmon_sleep(59) on it is 10000 - for any idle, however large (answer
     sysmon_sleep(10**6) at once). It agrees with sysmon_delays:
     sysmon_delays([False] * n + [False])[-1] == sysmon_sleep(n).
  7. idle must be an int (not a bool): TypeError otherwise; ValueError if it is negative.

    >>> sysmon_delays([True, False, False])
    [20, 20, 20]
    >>> sysmon_delays([False] * 53)[-3:]
    [20, 40, 80]
    >>> sysmon_sleep(58), sysmon_sleep(59)
    (5120, 10000)
"""


def sysmon_delays(retook: list[bool]) -> list[int]:
    """The microseconds sysmon sleeps before each round, given whether each round retook."""
    ### BEGIN SOLUTION 11.1
    if type(retook) is not list or any(type(r) is not bool for r in retook):
        raise TypeError("retook must be a list of True/False, one per round")
    delays = []
    idle, delay = 0, 0
    for r in retook:
        if idle == 0:
            delay = 20
        elif idle > 50:
            delay *= 2
        if delay > 10_000:
            delay = 10_000
        delays.append(delay)
        idle = 0 if r else idle + 1
    return delays
    ### END SOLUTION


def sysmon_sleep(idle: int) -> int:
    """The microseconds sysmon sleeps after `idle` rounds in a row that retook nothing."""
    ### BEGIN SOLUTION 11.1
    if type(idle) is not int:
        raise TypeError(f"idle must be an int, not {type(idle).__name__}")
    if idle < 0:
        raise ValueError(f"idle counts rounds, so it cannot be negative: {idle}")
    if idle <= 50:
        return 20
    doublings = idle - 50
    return 10_000 if doublings >= 9 else min(10_000, 20 << doublings)
    ### END SOLUTION
