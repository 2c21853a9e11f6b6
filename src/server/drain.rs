//! Counting work in progress, so that a stopping server can wait for it (and a gauge can show it).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;
use tokio::time::{Instant, timeout_at};

/// A count of things under way (client queries, TCP connections) that can be waited on to reach
/// zero. Entering and leaving are one atomic each; only the last one out wakes waiters.
#[derive(Debug, Clone, Default)]
pub struct InProgress {
    inner: Arc<Counter>,
}

#[derive(Debug, Default)]
struct Counter {
    count: AtomicUsize,
    idle: Notify,
}

/// Held while one thing is under way; dropping it (on every path, panics included) leaves.
#[derive(Debug)]
pub struct Busy {
    inner: Arc<Counter>,
}

impl InProgress {
    pub fn enter(&self) -> Busy {
        self.inner.count.fetch_add(1, Ordering::Relaxed);
        Busy {
            inner: Arc::clone(&self.inner),
        }
    }

    pub fn count(&self) -> usize {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// Waits until nothing is under way or `deadline` passes; returns whether it got to zero.
    pub async fn wait_idle(&self, deadline: Instant) -> bool {
        loop {
            // Register for the wake-up before looking at the count, so that a `Busy` dropped
            // between the look and the wait is not missed.
            let idle = self.inner.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.inner.count.load(Ordering::Acquire) == 0 {
                return true;
            }
            if timeout_at(deadline, idle).await.is_err() {
                return self.count() == 0;
            }
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.inner.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn waits_for_the_last_one_out() {
        let work = InProgress::default();
        let first = work.enter();
        let second = work.enter();
        assert_eq!(work.count(), 2);
        let soon = Instant::now() + Duration::from_millis(20);
        assert!(!work.wait_idle(soon).await, "still busy");
        drop(first);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(second);
        });
        assert!(
            work.wait_idle(Instant::now() + Duration::from_secs(10))
                .await
        );
        assert_eq!(work.count(), 0);
    }
}
