//! The password-hashing workers (DESIGN.md §5b): a fixed set of threads, each keeping one argon2
//! memory area for its whole life, fed by two bounded queues. Memory under any flood of logins
//! stays at `workers × memory cost`; a check that finds its queue full is refused at once.
//!
//! The priority lane is for sign-ins from a known device (a browser where the same person signed
//! in before, see `oauth::known_device`): workers take its jobs first, and it has room of its own,
//! so a flood of guesses that fills the ordinary queue does not lock out people who sign in from
//! where they always do.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use argon2::Block;

use super::PasswordError;

thread_local! {
    /// The worker's argon2 memory, reused by every check the worker runs.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
    /// The most blocks this thread keeps: zero outside the workers (CLI, tests, start-up).
    static KEEP_BLOCKS: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f` with `blocks` argon2 blocks: the worker's own memory on a worker thread, a
/// short-lived allocation elsewhere or when a stored hash needs more than the configured cost.
pub(super) fn with_memory<R>(blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
    if blocks > KEEP_BLOCKS.with(Cell::get) {
        return f(&mut vec![Block::default(); blocks]);
    }
    let mut memory = MEMORY.with(RefCell::take);
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let result = f(&mut memory[..blocks]);
    MEMORY.with(|cell| cell.replace(memory));
    result
}

type Job = Box<dyn FnOnce() + Send>;

/// Which queue a job waits in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lane {
    /// Every check by default.
    #[default]
    Ordinary,
    /// Sign-ins from a known device: taken first, with room of its own.
    Priority,
}

/// The waiting jobs of both lanes; `open` is false once the pool is dropped.
struct Lanes {
    ordinary: VecDeque<Job>,
    priority: VecDeque<Job>,
    open: bool,
}

struct Shared {
    lanes: Mutex<Lanes>,
    ready: Condvar,
}

/// The queues in front of the workers.
pub(super) struct Workers {
    shared: Arc<Shared>,
    /// Jobs each lane may hold waiting.
    room: usize,
}

impl Workers {
    /// Starts `workers` threads behind two queues of `queued` waiting jobs each; each thread
    /// keeps up to `blocks` argon2 blocks (allocated at its first job).
    pub(super) fn start(workers: usize, queued: usize, blocks: usize) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            lanes: Mutex::new(Lanes {
                ordinary: VecDeque::new(),
                priority: VecDeque::new(),
                open: true,
            }),
            ready: Condvar::new(),
        });
        for n in 0..workers.max(1) {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("latchkey-password-{n}"))
                .spawn(move || {
                    KEEP_BLOCKS.with(|k| k.set(blocks));
                    while let Some(job) = shared.next() {
                        job();
                    }
                })?;
        }
        Ok(Self {
            shared,
            room: queued.max(1),
        })
    }

    /// Queues a job in `lane`, or refuses at once when that lane is full.
    pub(super) fn submit(&self, lane: Lane, job: Job) -> Result<(), PasswordError> {
        let mut lanes = self
            .shared
            .lanes
            .lock()
            .map_err(|_| PasswordError::Worker("workers stopped".into()))?;
        let queue = match lane {
            Lane::Ordinary => &mut lanes.ordinary,
            Lane::Priority => &mut lanes.priority,
        };
        if queue.len() >= self.room {
            return Err(PasswordError::Busy);
        }
        queue.push_back(job);
        drop(lanes);
        self.shared.ready.notify_one();
        Ok(())
    }
}

impl Shared {
    /// The next job, priority lane first; `None` once the pool is dropped and nothing waits.
    fn next(&self) -> Option<Job> {
        let mut lanes = self.lanes.lock().ok()?;
        loop {
            if let Some(job) = lanes.priority.pop_front() {
                return Some(job);
            }
            if let Some(job) = lanes.ordinary.pop_front() {
                return Some(job);
            }
            if !lanes.open {
                return None;
            }
            lanes = self.ready.wait(lanes).ok()?;
        }
    }
}

impl Drop for Workers {
    /// The process is shutting down: the workers finish what waits, then stop.
    fn drop(&mut self) {
        if let Ok(mut lanes) = self.shared.lanes.lock() {
            lanes.open = false;
        }
        self.shared.ready.notify_all();
    }
}
