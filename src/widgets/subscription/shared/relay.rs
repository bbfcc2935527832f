//! The leader's relays: one `EventSource` per topic any tab shows, its recent events kept for
//! tabs that arrive late, and every event posted to the other tabs.

use super::{Hub, Message, Relay, Relayed, RECENT};
use crate::model::{EventId, EventKind, TopicName};
use crate::widgets::subscription::open_unpaused;
use crate::widgets::wire_status::ReadyState;
use std::collections::VecDeque;
use std::rc::Rc;

impl Hub {
    /// Leader: make sure `topic` is relayed from `after` on, for tab `to` (or this tab).
    pub(super) fn serve(self: &Rc<Self>, topic: TopicName, after: EventId, to: Option<String>) {
        let covered =
            self.state.borrow().relays.get(&topic).is_some_and(|relay| {
                relay.from.epoch == after.epoch && relay.from.seq <= after.seq
            });
        if !covered {
            // Open (or reopen) the stream from `after`: the server replays what is missing.
            self.open_relay(topic, after);
            return;
        }
        // Catch up from what the relay holds: its hello, then everything after `after`.
        let (hello, missed) = {
            let state = self.state.borrow();
            let relay = &state.relays[&topic];
            let missed: Vec<Relayed> = relay
                .recent
                .iter()
                .filter(|r| {
                    EventId::parse(&r.id)
                        .is_ok_and(|id| id.epoch == after.epoch && id.seq > after.seq)
                })
                .cloned()
                .collect();
            (relay.hello.clone(), missed)
        };
        for mut relay in hello.into_iter().chain(missed) {
            relay.catch_up = true;
            match &to {
                None => self.deliver(&topic, &relay),
                Some(tab) => self.post(&Message::Event {
                    to: Some(tab.clone()),
                    topic: topic.clone(),
                    relay,
                }),
            }
        }
    }

    /// The id of the last event the relay of `topic` handed on (or the one it started from).
    fn relayed_up_to(&self, topic: &TopicName) -> Option<EventId> {
        let state = self.state.borrow();
        let relay = state.relays.get(topic)?;
        let last = relay
            .recent
            .iter()
            .rev()
            .find_map(|r| EventId::parse(&r.id).ok());
        Some(last.unwrap_or(relay.from))
    }

    fn open_relay(self: &Rc<Self>, topic: TopicName, after: EventId) {
        let url = format!("{}?last_event_id={after}", topic.events_url());
        let on_message = {
            let hub = Rc::downgrade(self);
            let topic = topic.clone();
            Rc::new(move |kind: EventKind, id: &str, data: &str| {
                let Some(hub) = hub.upgrade() else { return };
                let relay = Relayed {
                    kind,
                    id: id.to_owned(),
                    data: data.to_owned(),
                    catch_up: false,
                };
                if let Some(relay_state) = hub.state.borrow_mut().relays.get_mut(&topic) {
                    if kind == EventKind::Hello {
                        relay_state.hello = Some(relay.clone());
                    } else {
                        if relay_state.recent.len() == RECENT {
                            relay_state.recent.pop_front();
                            if let Some(oldest) = relay_state
                                .recent
                                .front()
                                .and_then(|r| EventId::parse(&r.id).ok())
                            {
                                relay_state.from = oldest;
                            }
                        }
                        relay_state.recent.push_back(relay.clone());
                    }
                }
                hub.deliver(&topic, &relay);
                hub.post(&Message::Event {
                    to: None,
                    topic: topic.clone(),
                    relay,
                });
            }) as Rc<dyn Fn(EventKind, &str, &str)>
        };
        let on_state = {
            let hub = Rc::downgrade(self);
            let topic = topic.clone();
            Rc::new(move |state: ReadyState| {
                let Some(hub) = hub.upgrade() else { return };
                for sink in hub.sinks(&topic) {
                    sink.connection_state(state);
                }
                hub.post(&Message::State {
                    topic: topic.clone(),
                    state,
                });
                // The leader's stream went silent: reopen it from the last event it relayed,
                // once this callback of the old stream has returned (replacing the relay drops
                // that stream).
                if state == ReadyState::Silent {
                    let (hub, topic) = (hub.clone(), topic.clone());
                    leptos::task::spawn_local(async move {
                        let after = hub.relayed_up_to(&topic);
                        if let Some(after) = after {
                            hub.open_relay(topic, after);
                        }
                    });
                }
            }) as Rc<dyn Fn(ReadyState)>
        };
        if let Some(stream) = open_unpaused(&url, on_message, on_state) {
            // Replacing an older relay drops (closes) its stream.
            self.state.borrow_mut().relays.insert(
                topic,
                Relay {
                    _stream: stream,
                    hello: None,
                    recent: VecDeque::new(),
                    from: after,
                },
            );
        }
    }
}
