//! The chain rule: every invitee of a reschedule chain belongs to the booking of the invitee
//! that started it, found by following `old_invitee` links through the Calendly API.

use booking_activities::scheduler::{client::CalendlyClient, model::CalendlyStatus};
use booking_proto::domain::TourSlot;

use super::{InviteeRef, Unprocessable};

/// The longest reschedule chain followed before the delivery is judged broken.
pub const MAX_CHAIN: usize = 50;

/// Why the Calendly API could not answer a chain question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Retryable: Calendly is unreachable, rate-limiting or failing; answered 503 so Calendly
    /// redelivers later.
    #[error("Calendly API unavailable: {0}")]
    Unavailable(String),
    /// Fatal: the chain is broken (an invitee is gone, a loop, a bad URI); dead-lettered.
    #[error("{0}")]
    Broken(String),
}

impl From<Unprocessable> for ChainError {
    fn from(e: Unprocessable) -> Self {
        ChainError::Broken(e.0)
    }
}

/// The current state of one invitee, read from the API.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveInvitee {
    pub active: bool,
    pub old_invitee: Option<InviteeRef>,
}

/// Follows reschedule chains through the Calendly API.
#[derive(Debug, Clone)]
pub struct Chains {
    client: CalendlyClient,
}

fn api_error(e: booking_activities::error::ProviderError) -> ChainError {
    if e.is_retryable() {
        ChainError::Unavailable(e.to_string())
    } else {
        ChainError::Broken(e.to_string())
    }
}

impl Chains {
    pub fn new(client: CalendlyClient) -> Self {
        Self { client }
    }

    pub async fn invitee(&self, invitee: &InviteeRef) -> Result<LiveInvitee, ChainError> {
        let live = self
            .client
            .invitee(&invitee.event_uuid, &invitee.uuid)
            .await
            .map_err(api_error)?;
        Ok(LiveInvitee {
            active: live.status == CalendlyStatus::Active,
            old_invitee: live
                .old_invitee
                .as_deref()
                .map(InviteeRef::parse)
                .transpose()?,
        })
    }

    /// The window of the scheduled event `event_uuid`.
    pub async fn tour(&self, event_uuid: &str) -> Result<TourSlot, ChainError> {
        let event = self
            .client
            .scheduled_event(event_uuid)
            .await
            .map_err(api_error)?;
        TourSlot::new(event.start_time, event.end_time).map_err(ChainError::Broken)
    }

    /// The invitee that started the chain `start` belongs to; `start_old` is what the delivery
    /// already said about `start`'s predecessor (saves one read).
    pub async fn root(
        &self,
        start: &InviteeRef,
        start_old: Option<&InviteeRef>,
    ) -> Result<InviteeRef, ChainError> {
        let mut current = start.clone();
        let mut previous = start_old.cloned();
        for _ in 0..MAX_CHAIN {
            match previous {
                None => return Ok(current),
                Some(older) => {
                    previous = self.invitee(&older).await?.old_invitee;
                    current = older;
                }
            }
        }
        Err(ChainError::Broken(format!(
            "the reschedule chain of {} is longer than {MAX_CHAIN}",
            start.uri
        )))
    }
}
