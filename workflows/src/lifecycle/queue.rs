//! The ordered queue of actions a booking still has to perform.
//!
//! Only the head ever runs, so at most one action is in flight and a later action can rely on
//! every earlier one having finished (the cancellation email on the calendar delete, a stage
//! update on the contact upsert). A head that failed for good stays where it is, blocked, and
//! holds up everything behind it until an operator retries or skips it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::action::{Action, ActionId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    Waiting,
    InFlight,
    /// Failed for good; waits for an operator.
    Blocked,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedAction {
    pub id: ActionId,
    pub action: Action,
    pub progress: Progress,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct ActionQueue {
    /// Ids are never reused, even after the queue drains, so a late or replayed report about an
    /// old action can never be mistaken for a new one.
    next_id: u64,
    items: VecDeque<QueuedAction>,
}

impl ActionQueue {
    pub(super) fn push(&mut self, action: Action) -> ActionId {
        self.next_id += 1;
        let id = ActionId(self.next_id);
        self.items.push_back(QueuedAction {
            id,
            action,
            progress: Progress::Waiting,
        });
        id
    }

    pub(super) fn head(&self) -> Option<&QueuedAction> {
        self.items.front()
    }

    pub(super) fn head_mut(&mut self) -> Option<&mut QueuedAction> {
        self.items.front_mut()
    }

    pub(super) fn pop_head(&mut self) -> Option<QueuedAction> {
        self.items.pop_front()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &QueuedAction> {
        self.items.iter()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(super) fn contains(&self, id: ActionId) -> bool {
        self.items.iter().any(|item| item.id == id)
    }

    /// Removes every action matching `unwanted` that is not running. A running action cannot be
    /// called back; whatever must follow it is queued behind it instead.
    pub(super) fn drop_not_running(
        &mut self,
        mut unwanted: impl FnMut(&Action) -> bool,
    ) -> Vec<QueuedAction> {
        let mut dropped = Vec::new();
        for item in std::mem::take(&mut self.items) {
            if item.progress != Progress::InFlight && unwanted(&item.action) {
                dropped.push(item);
            } else {
                self.items.push_back(item);
            }
        }
        dropped
    }

    pub(super) fn find_not_running_mut(
        &mut self,
        mut wanted: impl FnMut(&Action) -> bool,
    ) -> Option<&mut QueuedAction> {
        self.items
            .iter_mut()
            .find(|item| item.progress != Progress::InFlight && wanted(&item.action))
    }

    pub(super) fn any_in_flight(&self, mut wanted: impl FnMut(&Action) -> bool) -> bool {
        self.items
            .iter()
            .any(|item| item.progress == Progress::InFlight && wanted(&item.action))
    }
}
