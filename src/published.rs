//! A value published once to whoever waits for it: how the one resolution of a merged question
//! hands its outcome to the askers that joined it ([`crate::resolver`]'s in-flight tables).
//!
//! A `tokio::sync::watch` channel did this before, at a cost that showed in profiles of cold
//! resolution: each channel carries eight `Notify`s, and both the send and the drop of its sender
//! wake all eight, so every client question and every upstream question paid sixteen
//! `notify_waiters` calls (396,048 of them in a 16,016-name pass of benches/cold_wide.sh,
//! callgrind), almost always with nobody waiting. Here a publication wakes one `Notify`, once.

use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::Notify;

/// The publishing end: [`Publisher::publish`] the value, or drop it to tell the waiters that no
/// value will come.
pub struct Publisher<T> {
    shared: Arc<Shared<T>>,
}

/// A waiting end; clones wait for the same value.
pub struct Subscriber<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    changed: Notify,
}

enum State<T> {
    Pending,
    Published(T),
    /// The publisher went away without a value.
    Abandoned,
}

/// A new publication, with nothing published yet.
pub fn channel<T>() -> (Publisher<T>, Subscriber<T>) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::Pending),
        changed: Notify::new(),
    });
    (
        Publisher {
            shared: Arc::clone(&shared),
        },
        Subscriber { shared },
    )
}

impl<T> Shared<T> {
    /// Moves from pending to `state` and wakes the waiters; later calls change nothing.
    fn settle(&self, state: State<T>) {
        let mut current = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if matches!(*current, State::Pending) {
            *current = state;
            drop(current);
            self.changed.notify_waiters();
        }
    }
}

impl<T> Publisher<T> {
    /// Hands `value` to every subscriber, those waiting now and those that look later. Only the
    /// first publication counts.
    pub fn publish(&self, value: T) {
        self.shared.settle(State::Published(value));
    }
}

impl<T> Drop for Publisher<T> {
    fn drop(&mut self) {
        self.shared.settle(State::Abandoned);
    }
}

impl<T> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self
            .shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            State::Pending => "pending",
            State::Published(_) => "published",
            State::Abandoned => "abandoned",
        };
        f.debug_struct("Subscriber").field("state", &state).finish()
    }
}

impl<T> Clone for Subscriber<T> {
    fn clone(&self) -> Self {
        Subscriber {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: Clone> Subscriber<T> {
    /// The published value, or `None` once the publisher is gone without one.
    pub async fn wait(&self) -> Option<T> {
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            // Registered before the state is read, so a publication in between still wakes us.
            changed.as_mut().enable();
            match &*self
                .shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
            {
                State::Published(value) => return Some(value.clone()),
                State::Abandoned => return None,
                State::Pending => {}
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn waiters_before_and_after_get_the_value() {
        let (publisher, subscriber) = channel();
        let early = tokio::spawn({
            let subscriber = subscriber.clone();
            async move { subscriber.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        publisher.publish(7);
        assert_eq!(early.await.unwrap(), Some(7));
        assert_eq!(subscriber.wait().await, Some(7));
    }

    #[tokio::test]
    async fn a_dropped_publisher_ends_the_wait_with_nothing() {
        let (publisher, subscriber) = channel::<u32>();
        let waiting = tokio::spawn({
            let subscriber = subscriber.clone();
            async move { subscriber.wait().await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(publisher);
        let ended = tokio::time::timeout(Duration::from_secs(1), waiting).await;
        assert_eq!(ended.expect("the wait ended").unwrap(), None);
        assert_eq!(subscriber.wait().await, None);
    }
}
