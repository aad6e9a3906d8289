// Lesson 12, experiment 1 in Rust: a producer and a consumer hand items over a one-slot channel
// and an acknowledgement channel, as two futures on a hand-written one-thread executor.
//
// Usage: pipeline [async|threads] <trace_n> <timed_n>      (default: async)
//   async   - two futures (async blocks) on the executor below; also prints `polls <n>`.
//   threads - two std::thread threads joined by std::sync::mpsc::sync_channel(0) rendezvous.
// Line format: lesson 12's contract (produce/consume trace, handoff_ns, runtime; see polyglot.py).
// Build: rustc --edition 2021 -O -o pipeline pipeline.rs   (std only; rustc 1.63 and newer)
//
// Sources (the model followed here):
// - std::future::Future::poll (https://doc.rust-lang.org/std/future/trait.Future.html): "When a
//   future is not ready yet, poll returns Poll::Pending and stores a clone of the Waker copied
//   from the current Context. This Waker is then woken once the future can make progress", and
//   poll "is not called repeatedly in a tight loop": an executor polls only woken tasks.
// - std::task::{Context, Waker, Wake} (https://doc.rust-lang.org/std/task/): `Wake` (stable since
//   1.51, library/alloc/src/task.rs) turns an Arc<impl Wake> into a Waker with no unsafe code.
// - The async book, "Applied: Build an Executor" (rust-lang/async-book,
//   src/02_execution/04_executor.md): a queue of woken tasks that the executor pops and polls.
//   It uses the futures crate's ArcWake; std's Wake is the same idea without a crate.
//
// What the numbers mean: with one thread, a hand-off is "return Pending to the executor, pop the
// other task's id, poll it": no OS thread switch at all. `polls` counts the polls during the timed
// round trips: 2 per round trip (1 per one-way hand-off) shows the executor never busy-polls.
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Instant;

// ---------------------------------------------------------------- the executor

type Task = Pin<Box<dyn Future<Output = ()>>>;
type ReadyQueue = Arc<Mutex<VecDeque<usize>>>; // Waker must be Send + Sync, hence Arc<Mutex>

static POLLS: AtomicU64 = AtomicU64::new(0);

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

struct Executor {
    tasks: Vec<Option<Task>>,
    wakers: Vec<Arc<TaskWaker>>,
    ready: ReadyQueue,
}

impl Executor {
    fn new() -> Self {
        Executor {
            tasks: Vec::new(),
            wakers: Vec::new(),
            ready: Arc::default(),
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

    /// Polls woken tasks until none is woken. No task ready while some are unfinished would be a
    /// lost wake-up: in this program that is a bug, so say so instead of hanging.
    fn run(&mut self) {
        loop {
            let next = self.ready.lock().unwrap().pop_front(); // guard dropped here, before poll
            let id = match next {
                Some(id) => id,
                None => break,
            };
            // Clear the flag first: a wake during this poll must queue the task again.
            self.wakers[id].queued.store(false, Ordering::Release);
            let waker = Waker::from(self.wakers[id].clone());
            let mut cx = Context::from_waker(&waker);
            if let Some(task) = self.tasks[id].as_mut() {
                POLLS.fetch_add(1, Ordering::Relaxed);
                if task.as_mut().poll(&mut cx).is_ready() {
                    self.tasks[id] = None;
                }
            }
        }
        assert!(
            self.tasks.iter().all(|t| t.is_none()),
            "no task woken but some unfinished"
        );
    }
}

// ---------------------------------------------------------------- a one-slot channel

/// The slot plus the waker of whoever waits for it to change. Rc<RefCell>: one thread only.
struct Slot<T> {
    value: Option<T>,
    receiver: Option<Waker>, // waiting for a value
    sender: Option<Waker>,   // waiting for the slot to empty
}

struct Chan<T>(Rc<RefCell<Slot<T>>>);

impl<T> Clone for Chan<T> {
    fn clone(&self) -> Self {
        Chan(self.0.clone())
    }
}

impl<T: Unpin> Chan<T> {
    fn new() -> Self {
        Chan(Rc::new(RefCell::new(Slot {
            value: None,
            receiver: None,
            sender: None,
        })))
    }
    fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: self,
            value: Some(value),
        }
    }
    fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture { chan: self }
    }
}

struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
}

impl<T: Unpin> Future for SendFuture<'_, T> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut slot = this.chan.0.borrow_mut();
        if slot.value.is_some() {
            slot.sender = Some(cx.waker().clone()); // full: the receiver wakes us when it takes
            return Poll::Pending;
        }
        slot.value = this.value.take();
        if let Some(w) = slot.receiver.take() {
            w.wake(); // only queues the receiver: it runs after this poll returns
        }
        Poll::Ready(())
    }
}

struct RecvFuture<'a, T> {
    chan: &'a Chan<T>,
}

impl<T: Unpin> Future for RecvFuture<'_, T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.chan.0.borrow_mut();
        match slot.value.take() {
            Some(v) => {
                if let Some(w) = slot.sender.take() {
                    w.wake();
                }
                Poll::Ready(v)
            }
            None => {
                slot.receiver = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

// ---------------------------------------------------------------- the experiment

fn rustc_version() -> &'static str {
    // rustc sets no such variable itself: the build may pass RUSTC_VERSION="$(rustc --version)".
    option_env!("RUSTC_VERSION").unwrap_or("rustc (version not recorded at build)")
}

fn run_async(trace_n: u64, timed_n: u64) {
    let items: Chan<u64> = Chan::new();
    let acks: Chan<u64> = Chan::new();
    let mut ex = Executor::new();

    let (tx, rx) = (items.clone(), acks.clone());
    ex.spawn(async move {
        for i in 0..trace_n {
            println!("produce {}", i);
            tx.send(i).await;
            rx.recv().await; // wait for the ack: this forces the trace's order
        }
        let polls0 = POLLS.load(Ordering::Relaxed);
        let t0 = Instant::now();
        for i in 0..timed_n {
            tx.send(i).await;
            rx.recv().await;
        }
        let ns = t0.elapsed().as_nanos() as f64;
        let polls = POLLS.load(Ordering::Relaxed) - polls0;
        println!("handoff_ns {:.1}", ns / (2.0 * timed_n.max(1) as f64));
        println!("polls {}", polls);
    });

    let (rx, tx) = (items, acks);
    ex.spawn(async move {
        for i in 0..trace_n + timed_n {
            let v = rx.recv().await;
            if i < trace_n {
                println!("consume {}", v);
            }
            tx.send(v).await;
        }
    });

    ex.run();
    println!(
        "runtime {}, hand-written one-thread executor (std only: Future, Wake, ready queue)",
        rustc_version()
    );
}

fn run_threads(trace_n: u64, timed_n: u64) {
    // Capacity 0 = rendezvous: send returns only when the other thread has received.
    let (item_tx, item_rx) = sync_channel::<u64>(0);
    let (ack_tx, ack_rx) = sync_channel::<u64>(0);
    let consumer = thread::spawn(move || {
        for i in 0..trace_n + timed_n {
            let v = item_rx.recv().unwrap();
            if i < trace_n {
                println!("consume {}", v);
            }
            ack_tx.send(v).unwrap();
        }
    });
    for i in 0..trace_n {
        println!("produce {}", i);
        item_tx.send(i).unwrap();
        ack_rx.recv().unwrap();
    }
    let t0 = Instant::now();
    for i in 0..timed_n {
        item_tx.send(i).unwrap();
        ack_rx.recv().unwrap();
    }
    let ns = t0.elapsed().as_nanos() as f64;
    consumer.join().unwrap();
    println!("handoff_ns {:.1}", ns / (2.0 * timed_n.max(1) as f64));
    println!(
        "runtime {}, std::thread + std::sync::mpsc::sync_channel(0) (OS threads)",
        rustc_version()
    );
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(|s| s.as_str()) {
        Some("async") | Some("threads") => args.remove(0),
        _ => "async".to_string(),
    };
    let num = |i: usize| -> u64 {
        match args.get(i).and_then(|s| s.parse().ok()) {
            Some(n) => n,
            None => {
                eprintln!("usage: pipeline [async|threads] <trace_n> <timed_n>");
                std::process::exit(2)
            }
        }
    };
    let (trace_n, timed_n) = (num(0), num(1));
    if mode == "async" {
        run_async(trace_n, timed_n)
    } else {
        run_threads(trace_n, timed_n)
    }
}
