//! Chat messages leave through per-chat queues, so that nothing that handles an update ever
//! waits for Telegram's pace.
//!
//! Telegram takes about one message per second per chat (and answers 429 with a wait of up
//! to a minute when pushed). A handler that sent its reply itself would hold whatever called
//! it for that long: the polling loop (so every other chat's updates, buyers' 10 s
//! `pre_checkout_query` deadlines included, waited behind one user's 100 commands) or the
//! webhook request Telegram is waiting on. Instead [`Bot::send_later`] puts the message on
//! its chat's queue and returns at once; one task per chat with something queued sends the
//! queue in order at the chat's pace and ends when it is empty.
//!
//! A queue holds at most [`CHAT_QUEUE_MAX`] messages (the one being sent included). Beyond
//! that a chat is flooding us faster than Telegram lets us answer, and the excess is dropped
//! and logged: the flood costs only that chat, and memory stays bounded. An order notice
//! (paid, shipped, refunded…) outranks command answers: on a full queue it takes the place
//! of the newest waiting answer, so a customer who spams commands still learns their order
//! was paid.
//!
//! Payment answers (`answerPreCheckoutQuery`, `answerShippingQuery`) are not chat messages
//! and never go through these queues.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::telegram::Bot;

/// How many messages may wait for one chat, the one being sent included: ten seconds of
/// that chat's pace.
pub const CHAT_QUEUE_MAX: usize = 10;

/// What a message is, which decides what is dropped when its chat's queue is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The answer to a command: the first to go when a chat floods us.
    Answer,
    /// News about the customer's order: displaces a waiting answer rather than be dropped.
    Notice,
}

/// What became of a message handed to [`Bot::send_later`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    Queued,
    /// The chat's queue was full; the message is not sent.
    Dropped,
}

#[derive(Debug, Clone)]
struct Message {
    text: String,
    markup: Option<Value>,
    kind: Kind,
}

/// One chat's messages; the front one is being sent.
#[derive(Debug, Default)]
struct ChatQueue {
    messages: VecDeque<Message>,
    /// Messages dropped since the queue last ran empty (logged when it does).
    dropped: u64,
}

impl ChatQueue {
    fn push(&mut self, m: Message) -> Queued {
        if self.messages.len() < CHAT_QUEUE_MAX {
            self.messages.push_back(m);
            return Queued::Queued;
        }
        self.dropped += 1;
        if m.kind == Kind::Notice {
            // The front message is on its way already; any other waiting answer may go.
            let newest_answer = self
                .messages
                .iter()
                .skip(1)
                .rposition(|w| w.kind == Kind::Answer);
            if let Some(i) = newest_answer {
                self.messages.remove(i + 1);
                self.messages.push_back(m);
                return Queued::Queued;
            }
        }
        Queued::Dropped
    }
}

/// Every chat with messages to send. A chat is here exactly while its sending task runs.
#[derive(Default)]
pub(super) struct Outbox {
    chats: Mutex<HashMap<i64, ChatQueue>>,
}

impl Outbox {
    fn chats(&self) -> MutexGuard<'_, HashMap<i64, ChatQueue>> {
        // A panic elsewhere while holding the lock leaves the map consistent (every change
        // is a single insert, remove or push), so the queues stay usable.
        self.chats.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Bot {
    /// Queues a message to `chat_id` behind that chat's earlier ones and returns at once;
    /// it is sent at the chat's pace, 429s waited out. Dropped (and logged) when the chat
    /// already has [`CHAT_QUEUE_MAX`] messages waiting, unless it is a notice that can take
    /// a waiting answer's place.
    pub fn send_later(
        &self,
        chat_id: i64,
        text: impl Into<String>,
        markup: Option<Value>,
        kind: Kind,
    ) -> Queued {
        let m = Message {
            text: text.into(),
            markup,
            kind,
        };
        let mut chats = self.shared().outbox.chats();
        if let Some(q) = chats.get_mut(&chat_id) {
            let queued = q.push(m);
            if q.dropped == 1 {
                tracing::warn!(
                    chat_id,
                    max = CHAT_QUEUE_MAX,
                    "a chat asks faster than Telegram lets us answer; dropping its excess replies"
                );
            }
            return queued;
        }
        let mut q = ChatQueue::default();
        q.push(m);
        chats.insert(chat_id, q);
        drop(chats);
        tokio::spawn(drain(self.clone(), chat_id));
        Queued::Queued
    }

    /// How many messages to `chat_id` are not yet accepted by Telegram (queued or being sent).
    pub fn waiting(&self, chat_id: i64) -> usize {
        self.shared()
            .outbox
            .chats()
            .get(&chat_id)
            .map_or(0, |q| q.messages.len())
    }
}

/// Sends `chat_id`'s queue in order, then removes the chat and ends.
async fn drain(bot: Bot, chat_id: i64) {
    let mut running = Running {
        bot: &bot,
        chat_id,
        finished: false,
    };
    loop {
        let next = bot
            .shared()
            .outbox
            .chats()
            .get(&chat_id)
            .and_then(|q| q.messages.front().cloned());
        let Some(m) = next else {
            running.finish();
            return;
        };
        if let Err(e) = bot.send_message(chat_id, &m.text, m.markup).await {
            tracing::warn!(chat_id, kind = ?m.kind, error = %e, "bot message not sent");
        }
        let mut chats = bot.shared().outbox.chats();
        let Some(q) = chats.get_mut(&chat_id) else {
            return;
        };
        q.messages.pop_front();
        if q.messages.is_empty() {
            if q.dropped > 0 {
                tracing::warn!(
                    chat_id,
                    dropped = q.dropped,
                    "a chat's excess replies were dropped"
                );
            }
            chats.remove(&chat_id);
            running.finished = true;
            return;
        }
    }
}

/// Removes the chat's queue if its task ends without emptying it (the runtime shutting
/// down drops the task), so a later message starts a new task instead of waiting forever.
struct Running<'a> {
    bot: &'a Bot,
    chat_id: i64,
    finished: bool,
}

impl Running<'_> {
    fn finish(&mut self) {
        self.bot.shared().outbox.chats().remove(&self.chat_id);
        self.finished = true;
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.bot.shared().outbox.chats().remove(&self.chat_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(kind: Kind, text: &str) -> Message {
        Message {
            text: text.into(),
            markup: None,
            kind,
        }
    }

    fn texts(q: &ChatQueue) -> Vec<&str> {
        q.messages.iter().map(|m| m.text.as_str()).collect()
    }

    #[test]
    fn a_full_queue_drops_the_excess_answers() {
        let mut q = ChatQueue::default();
        for i in 0..CHAT_QUEUE_MAX {
            assert_eq!(q.push(msg(Kind::Answer, &i.to_string())), Queued::Queued);
        }
        for _ in 0..5 {
            assert_eq!(q.push(msg(Kind::Answer, "more")), Queued::Dropped);
        }
        assert_eq!(q.messages.len(), CHAT_QUEUE_MAX);
        assert_eq!(q.dropped, 5);
        assert!(!texts(&q).contains(&"more"));
    }

    #[test]
    fn a_notice_takes_the_place_of_the_newest_waiting_answer() {
        let mut q = ChatQueue::default();
        q.push(msg(Kind::Answer, "sending"));
        for i in 1..CHAT_QUEUE_MAX {
            q.push(msg(Kind::Answer, &i.to_string()));
        }
        assert_eq!(q.push(msg(Kind::Notice, "paid")), Queued::Queued);
        let last = (CHAT_QUEUE_MAX - 1).to_string();
        assert!(!texts(&q).contains(&last.as_str()), "{:?}", texts(&q));
        assert_eq!(texts(&q).last(), Some(&"paid"));
        assert_eq!(texts(&q)[0], "sending");
        assert_eq!(q.messages.len(), CHAT_QUEUE_MAX);

        // A queue of notices (and the one in flight, whatever it is) is not displaced.
        let mut q = ChatQueue::default();
        q.push(msg(Kind::Answer, "sending"));
        for i in 1..CHAT_QUEUE_MAX {
            q.push(msg(Kind::Notice, &i.to_string()));
        }
        assert_eq!(q.push(msg(Kind::Notice, "late")), Queued::Dropped);
        assert_eq!(texts(&q)[0], "sending");
        assert!(!texts(&q).contains(&"late"));
    }
}
