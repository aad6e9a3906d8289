// Lesson 12, experiment 2 in Rust: a CPU hog beside a 1 ms heartbeat.
//
// Usage: starve <async|threads> <hog_ms>
//   async   - heartbeat and hog are two futures on the one-thread executor below. The hog spins
//             inside ONE poll: it never returns Poll::Pending, so the executor never gets its
//             thread back, no timer is checked, and the heartbeat is silent until the hog ends.
//   threads - the same two as std::thread threads. The kernel's scheduler preempts the hog, so
//             the beats go on, even with the whole process pinned to one CPU (taskset -c 0).
// Line format: lesson 12's contract (beat / hog_start / hog_end / runtime; see polyglot.py).
// Build: rustc --edition 2021 -O -o starve starve.rs   (std only; rustc 1.63 and newer)
//
// Sources:
// - std::future::Future::poll (https://doc.rust-lang.org/std/future/trait.Future.html): "An
//   implementation of poll should strive to return quickly, and should not block." Nothing
//   enforces it: a future that spins simply keeps the thread. That is cooperative scheduling.
// - std::task::{Context, Waker, Wake} (https://doc.rust-lang.org/std/task/) and the async book's
//   "Applied: Build an Executor" (rust-lang/async-book, src/02_execution/04_executor.md): the
//   executor model used here, plus a timer list the executor checks (a reactor for time only).
// - Contrast, not run here (no crates): Tokio gives each task a budget of 128 units per poll
//   (tokio/src/task/coop/mod.rs, Budget::initial(); tokio/src/runtime/coop.rs in older releases);
//   Tokio's own resources (channels, sockets, timers) return Pending once it is spent. Its module
//   docs say why it is opt-in: "Since Rust does not have a runtime, it is difficult to forcibly
//   preempt a long-running task." A loop like our hog, which polls no Tokio resource, is not
//   stopped by the budget either.
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant};

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn rustc_version() -> &'static str {
    // rustc sets no such variable itself: the build may pass RUSTC_VERSION="$(rustc --version)".
    option_env!("RUSTC_VERSION").unwrap_or("rustc (version not recorded at build)")
}

// Rust's stdout is line-buffered even into a pipe, so every println! reaches the reader at once.

// ---------------------------------------------------------------- the executor

type Task = Pin<Box<dyn Future<Output = ()>>>;
type ReadyQueue = Arc<Mutex<VecDeque<usize>>>; // Waker must be Send + Sync, hence Arc<Mutex>

/// One per task: waking it puts the task's id back in the ready queue.
struct TaskWaker {
    id: usize,
    queued: AtomicBool, // woken twice before it runs = queued once = polled once
    ready: ReadyQueue,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.ready.lock().unwrap().push_back(self.id);
        }
    }
}

/// Deadlines and the wakers to call when they pass. Only the executor sleeps on them.
#[derive(Clone, Default)]
struct Timers(Rc<RefCell<Vec<(Instant, Waker)>>>);

impl Timers {
    fn sleep(&self, d: Duration) -> Sleep {
        Sleep {
            deadline: Instant::now() + d,
            timers: self.clone(),
        }
    }
}

/// The timer future: Pending until its deadline, registered with the executor's timer list.
struct Sleep {
    deadline: Instant,
    timers: Timers,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Instant::now() >= self.deadline {
            return Poll::Ready(());
        }
        self.timers
            .0
            .borrow_mut()
            .push((self.deadline, cx.waker().clone()));
        Poll::Pending
    }
}

struct Executor {
    tasks: Vec<Option<Task>>,
    wakers: Vec<Arc<TaskWaker>>,
    ready: ReadyQueue,
    timers: Timers,
}

impl Executor {
    fn new() -> Self {
        Executor {
            tasks: Vec::new(),
            wakers: Vec::new(),
            ready: Arc::default(),
            timers: Timers::default(),
        }
    }

    fn spawn(&mut self, fut: impl Future<Output = ()> + 'static) {
        let id = self.tasks.len();
        self.tasks.push(Some(Box::pin(fut)));
        let waker = Arc::new(TaskWaker {
            id,
            queued: AtomicBool::new(false),
            ready: self.ready.clone(),
        });
        waker.wake_by_ref(); // a new task is polled once to start it
        self.wakers.push(waker);
    }

    fn run(&mut self) {
        loop {
            // 1. Wake the tasks whose deadline has passed. This runs only between two polls:
            //    while a poll is running, nobody looks at the clock for the other tasks.
            let now = Instant::now();
            self.timers.0.borrow_mut().retain(|(deadline, waker)| {
                if *deadline <= now {
                    waker.wake_by_ref();
                }
                *deadline > now
            });
            // 2. Poll one woken task.
            let next = self.ready.lock().unwrap().pop_front(); // guard dropped before the poll
            if let Some(id) = next {
                self.wakers[id].queued.store(false, Ordering::Release);
                let waker = Waker::from(self.wakers[id].clone());
                let mut cx = Context::from_waker(&waker);
                if let Some(task) = self.tasks[id].as_mut() {
                    if task.as_mut().poll(&mut cx).is_ready() {
                        self.tasks[id] = None;
                    }
                }
                continue;
            }
            // 3. Nothing ready: done, or block the thread until the earliest deadline.
            if self.tasks.iter().all(|t| t.is_none()) {
                return;
            }
            let earliest = self.timers.0.borrow().iter().map(|(d, _)| *d).min();
            match earliest {
                Some(d) => thread::sleep(d.saturating_duration_since(Instant::now())),
                None => panic!("no task ready and no timer pending: a lost wake-up"),
            }
        }
    }
}

// ---------------------------------------------------------------- async: two futures

/// What the heartbeat and the hog share (one thread: Cell and RefCell are enough).
#[derive(Default)]
struct Shared {
    beats: Cell<u32>,
    hog_ended_at: Cell<Option<u32>>, // beat count when the hog ended
    hog_waiter: RefCell<Option<Waker>>,
}

/// Ready once the heartbeat has beaten 20 times; the heartbeat wakes it.
struct TwentyBeats(Rc<Shared>);

impl Future for TwentyBeats {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0.beats.get() >= 20 {
            return Poll::Ready(());
        }
        *self.0.hog_waiter.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn run_async(hog_ms: f64, start: Instant) {
    let mut ex = Executor::new();
    let shared = Rc::new(Shared::default());

    let (s, timers) = (shared.clone(), ex.timers.clone());
    ex.spawn(async move {
        loop {
            timers.sleep(Duration::from_millis(1)).await;
            println!("beat {:.3}", ms(start));
            s.beats.set(s.beats.get() + 1);
            if s.beats.get() == 20 {
                if let Some(w) = s.hog_waiter.borrow_mut().take() {
                    w.wake();
                }
            }
            if let Some(end) = s.hog_ended_at.get() {
                if s.beats.get() >= end + 20 {
                    break;
                }
            }
        }
    });

    let s = shared;
    ex.spawn(async move {
        TwentyBeats(s.clone()).await;
        let t0 = ms(start);
        println!("hog_start {:.3}", t0);
        // No .await in this loop: the whole spin is one call of poll(), and only a return from
        // poll() gives the executor its thread back.
        let mut x: u64 = 0;
        while ms(start) - t0 < hog_ms {
            x = x.wrapping_add(1);
        }
        println!("hog_end {:.3}", ms(start));
        s.hog_ended_at.set(Some(s.beats.get()));
    });

    ex.run();
    println!(
        "runtime {}, hand-written one-thread executor (std only: no preemption, no coop budget)",
        rustc_version()
    );
}

// ---------------------------------------------------------------- threads: two OS threads

fn run_threads(hog_ms: f64, start: Instant) {
    let beats = Arc::new(AtomicU32::new(0));
    let hog_ended_at = Arc::new(AtomicI64::new(-1)); // -1: the hog has not ended yet
    let (twenty_tx, twenty_rx) = channel::<()>();

    let (b, e) = (beats.clone(), hog_ended_at.clone());
    let heart = thread::spawn(move || loop {
        thread::sleep(Duration::from_millis(1));
        println!("beat {:.3}", ms(start));
        let n = b.fetch_add(1, Ordering::SeqCst) + 1;
        if n == 20 {
            let _ = twenty_tx.send(());
        }
        let end = e.load(Ordering::SeqCst);
        if end >= 0 && i64::from(n) >= end + 20 {
            break;
        }
    });

    // The hog is the main thread: it blocks (not spins) until the 20th beat, then spins.
    twenty_rx.recv().unwrap();
    let t0 = ms(start);
    println!("hog_start {:.3}", t0);
    let mut x: u64 = 0;
    while ms(start) - t0 < hog_ms {
        x = x.wrapping_add(1);
    }
    println!("hog_end {:.3}", ms(start));
    hog_ended_at.store(i64::from(beats.load(Ordering::SeqCst)), Ordering::SeqCst);
    heart.join().unwrap();
    println!(
        "runtime {}, std::thread (OS threads, preempted by the kernel scheduler)",
        rustc_version()
    );
}

fn main() {
    let start = Instant::now();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let hog_ms = args.get(1).and_then(|s| s.parse::<f64>().ok());
    match (args.first().map(|s| s.as_str()), hog_ms) {
        (Some("async"), Some(h)) => run_async(h, start),
        (Some("threads"), Some(h)) => run_threads(h, start),
        _ => {
            eprintln!("usage: starve <async|threads> <hog_ms>");
            std::process::exit(2)
        }
    }
}
