//! The tries of one question at one zone that still wait for their answers.
//!
//! A try whose timeout has passed is not given up: its socket stays open while the next try is
//! out, and a late answer to it (matching its own port, ID and question, RFC 5452 §9.2) is as
//! good as any. The set lives as long as the question is being asked of the zone; dropping it
//! closes every socket.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;

use tokio::time::{Instant, timeout_at};

/// One try's exchange, as a future of its outcome.
pub(super) type Exchange<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Tries waiting for their answers, each under the number [`Listening::push`] gave it. There
/// are never more than the tries of one question at one zone, so each wake-up polls them all.
pub(super) struct Listening<'a, T> {
    tries: Vec<(usize, Exchange<'a, T>)>,
    pushed: usize,
}

impl<'a, T> Listening<'a, T> {
    pub(super) fn new() -> Self {
        Listening {
            tries: Vec::new(),
            pushed: 0,
        }
    }

    /// Starts listening for `exchange`'s outcome; returns the number it will come back under.
    pub(super) fn push(&mut self, exchange: Exchange<'a, T>) -> usize {
        self.pushed += 1;
        self.tries.push((self.pushed, exchange));
        self.pushed
    }

    /// The next outcome of any try, with the try's number. Never ready while nothing listens.
    pub(super) async fn next(&mut self) -> (usize, T) {
        poll_fn(|cx| {
            for index in 0..self.tries.len() {
                if let Poll::Ready(outcome) = self.tries[index].1.as_mut().poll(cx) {
                    let (number, _) = self.tries.swap_remove(index);
                    return Poll::Ready((number, outcome));
                }
            }
            Poll::Pending
        })
        .await
    }

    /// As [`Listening::next`], or `None` once `until` has passed.
    pub(super) async fn next_until(&mut self, until: Instant) -> Option<(usize, T)> {
        timeout_at(until, self.next()).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn after(ms: u64, value: u32) -> Exchange<'static, u32> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            value
        })
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_try_that_answers_late_is_heard() {
        let mut listening = Listening::new();
        let first = listening.push(after(1_500, 1));
        let start = Instant::now();
        assert_eq!(
            listening
                .next_until(start + Duration::from_millis(376))
                .await,
            None,
            "the first try's timeout passes"
        );
        let second = listening.push(after(1_500, 2));
        assert_ne!(first, second);
        assert_eq!(
            listening
                .next_until(start + Duration::from_millis(1_128))
                .await,
            None
        );
        assert_eq!(
            listening.next().await,
            (first, 1),
            "its answer still counts"
        );
        assert_eq!(listening.next().await, (second, 2));
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_listening_waits_out_the_deadline() {
        let mut listening: Listening<'_, u32> = Listening::new();
        let until = Instant::now() + Duration::from_millis(50);
        assert_eq!(listening.next_until(until).await, None);
        assert!(Instant::now() >= until);
    }
}
