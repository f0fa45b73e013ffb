//! The password-hashing workers (DESIGN.md §5b): a fixed set of threads, each keeping one argon2
//! memory area for its whole life, fed by a bounded queue. Memory under any flood of logins stays
//! at `workers × memory cost`; a check that finds the queue full is refused at once.

use std::cell::{Cell, RefCell};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

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

/// The queue in front of the workers.
pub(super) struct Workers {
    queue: SyncSender<Job>,
}

impl Workers {
    /// Starts `workers` threads behind a queue of `queued` waiting jobs; each thread keeps up to
    /// `blocks` argon2 blocks (allocated at its first job).
    pub(super) fn start(workers: usize, queued: usize, blocks: usize) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::sync_channel::<Job>(queued);
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..workers.max(1) {
            let jobs = Arc::clone(&jobs);
            std::thread::Builder::new()
                .name(format!("latchkey-password-{n}"))
                .spawn(move || {
                    KEEP_BLOCKS.with(|k| k.set(blocks));
                    loop {
                        let job = match jobs.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every sender is gone: the process is shutting down.
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(Self { queue })
    }

    /// Queues a job, or refuses at once when the queue is full.
    pub(super) fn submit(&self, job: Job) -> Result<(), PasswordError> {
        self.queue.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => PasswordError::Busy,
            TrySendError::Disconnected(_) => PasswordError::Worker("workers stopped".into()),
        })
    }
}
