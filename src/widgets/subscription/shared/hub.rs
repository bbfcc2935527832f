//! The hub's side of the conversation between tabs: what a tab says, what it does with what
//! it hears, and how it becomes the leader. Relaying itself (the leader's streams) is in
//! [`super::relay`].

use super::{Delivery, Hub, Message, Relayed};
use crate::model::{EventId, EventKind, TopicName};
use crate::widgets::subscription::Sink;
use crate::widgets::wire_status::ShareRole;
use std::rc::Rc;
use wasm_bindgen::JsValue;

impl Hub {
    pub(super) fn post(&self, message: &Message) {
        if let Ok(text) = serde_json::to_string(message) {
            let _ = self.channel.post_message(&JsValue::from_str(&text));
        }
    }

    /// This tab shows `topic` from `after`: ask the leader, or be it.
    pub(super) fn want(self: &Rc<Self>, topic: TopicName, after: EventId) {
        if self.state.borrow().leader {
            self.serve(topic, after, None);
        } else {
            self.post(&Message::Want {
                tab: self.tab.clone(),
                topic,
                after,
            });
        }
    }

    pub(super) fn receive(self: &Rc<Self>, message: Message) {
        match message {
            Message::Want { tab, topic, after } if self.state.borrow().leader => {
                self.serve(topic, after, Some(tab));
            }
            Message::Want { .. } => {}
            Message::Elected => {
                for (topic, after) in self.positions() {
                    self.want(topic, after);
                }
            }
            Message::Event { to, topic, relay } => {
                if to.is_none() || to.as_deref() == Some(self.tab.as_str()) {
                    self.deliver(&topic, &relay);
                }
            }
            Message::State { topic, state } => {
                for sink in self.sinks(&topic) {
                    sink.connection_state(state);
                }
            }
        }
    }

    pub(super) fn sinks(&self, topic: &TopicName) -> Vec<Sink> {
        self.state
            .borrow()
            .sinks
            .get(topic)
            .cloned()
            .unwrap_or_default()
    }

    /// Delivers one relayed event to this tab's widgets of `topic`. One that skips ahead of a
    /// widget (events from a closing leader and its successor can interleave) is held back, and
    /// the leader is asked once for everything after what the widget has.
    pub(super) fn deliver(self: &Rc<Self>, topic: &TopicName, relay: &Relayed) {
        for sink in self.sinks(topic) {
            if relay.catch_up && relay.kind == EventKind::Hello && sink.has_hello() {
                continue;
            }
            if sink.deliver(relay.kind, &relay.id, &relay.data) == Delivery::Ahead {
                // Held back means the sink has applied something before (only then can an
                // event be ahead of it); without a last id there is nothing to ask after.
                let Some(last) = sink.last() else { continue };
                if self.state.borrow_mut().asked.insert((topic.clone(), last)) {
                    self.want(topic.clone(), last);
                }
            }
        }
    }

    /// For each topic this tab shows: the oldest id its widgets have applied.
    fn positions(&self) -> Vec<(TopicName, EventId)> {
        self.state
            .borrow()
            .sinks
            .iter()
            .filter_map(|(topic, sinks)| {
                Some((topic.clone(), sinks.iter().filter_map(Sink::last).min()?))
            })
            .collect()
    }

    /// The lock is ours: open this tab's topics from where its widgets are, and ask the others.
    pub(super) fn become_leader(self: &Rc<Self>) {
        self.state.borrow_mut().leader = true;
        self.show_role(ShareRole::Leader);
        for (topic, after) in self.positions() {
            self.serve(topic, after, None);
        }
        self.post(&Message::Elected);
    }

    /// The tab hid while leading (`election`): close the relays and follow whoever leads next,
    /// saying again what this tab wants when the new leader announces itself (`Elected`).
    pub(super) fn step_down(&self) {
        let relays = {
            let mut state = self.state.borrow_mut();
            state.leader = false;
            state.asked.clear();
            std::mem::take(&mut state.relays)
        };
        drop(relays); // each relay's `Stream` closes its EventSource
        self.show_role(ShareRole::Follower);
    }

    /// Every widget of this tab says how the tab takes part now.
    fn show_role(&self, role: ShareRole) {
        for sinks in self.state.borrow().sinks.values() {
            for sink in sinks {
                sink.share_role(role);
            }
        }
    }
}
