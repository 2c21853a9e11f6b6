//! Merging identical questions: while one resolution of (name, type) is running, later askers
//! wait for its answer instead of starting their own (no thundering herd on a cache miss).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use hickory_proto::rr::{Name, RecordType};
use tokio::sync::watch;

use crate::answer::Answer;

type Key = (Name, RecordType);
type Slot = watch::Receiver<Option<Arc<Answer>>>;

#[derive(Debug, Default, Clone)]
pub struct InFlight {
    table: Arc<Mutex<HashMap<Key, Slot>>>,
}

impl InFlight {
    /// Returns the answer for `key`, running `resolve` only if no resolution of it is under way.
    /// The resolution runs in its own task, so it completes (and fills the cache) even if the
    /// client that started it goes away.
    pub async fn resolve<F, Fut>(&self, key: Key, resolve: F) -> Arc<Answer>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answer> + Send + 'static,
    {
        let mut slot = self.join_or_start(key, resolve);
        match slot.wait_for(Option::is_some).await {
            Ok(answer) => answer
                .clone()
                .unwrap_or_else(|| Arc::new(Answer::servfail())),
            // The resolving task died without answering (it panicked): fail closed.
            Err(_) => Arc::new(Answer::servfail()),
        }
    }

    fn join_or_start<F, Fut>(&self, key: Key, resolve: F) -> Slot
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Answer> + Send + 'static,
    {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = table.get(&key) {
            return slot.clone();
        }
        let (sender, slot) = watch::channel(None);
        table.insert(key.clone(), slot.clone());
        drop(table);
        let leave = LeaveOnDrop {
            table: Arc::clone(&self.table),
            key,
        };
        let resolution = resolve();
        tokio::spawn(async move {
            let answer = resolution.await;
            // Leave the table before answering: whoever arrives after this finds the answer in
            // the cache rather than a finished slot.
            drop(leave);
            let _ = sender.send(Some(Arc::new(answer)));
        });
        slot
    }

    /// Number of distinct questions being resolved right now.
    pub fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes a question from the table when its resolution ends, however it ends (a panic in the
/// resolving task included), so the table never keeps dead slots.
struct LeaveOnDrop {
    table: Arc<Mutex<HashMap<Key, Slot>>>,
    key: Key,
}

impl Drop for LeaveOnDrop {
    fn drop(&mut self) {
        self.table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}
