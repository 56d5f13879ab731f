//! The ledger as plain data and pure functions: who holds which seats of which window, who
//! waits, and who must be told a seat came free. No Temporal type, no clock, no I/O.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// A half-open time range `[start, end)`, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn overlaps(&self, other: &Window) -> bool {
        self.start < other.end && other.start < self.end
    }

    fn shifted(&self, by: Duration) -> Window {
        Window {
            start: self.start + by,
            end: self.end + by,
        }
    }
}

/// What kind of resource a ledger guards; it decides what happens when a window is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// An agent's calendar: capacity 1, overlapping windows conflict, a conflict is refused.
    Agent,
    /// An open house: capacity N seats per window, a full window puts the booking on the
    /// waitlist.
    OpenHouse,
}

/// How a ledger is set up; fixed when it is first started and carried across continue-as-new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerConfig {
    pub resource_id: String,
    pub kind: ResourceKind,
    /// Seats per window (1 for an agent).
    pub capacity: u32,
    /// Accepted updates one run takes before it continues as new. Small in tests; the default
    /// keeps a run far below Temporal's history limits (each update is two events).
    pub continue_as_new_after: u32,
}

/// Default number of accepted updates per run before continue-as-new.
pub const DEFAULT_CONTINUE_AS_NEW_AFTER: u32 = 2_000;

impl LedgerConfig {
    pub fn agent(agent_id: &str) -> Self {
        Self {
            resource_id: agent_id.to_owned(),
            kind: ResourceKind::Agent,
            capacity: 1,
            continue_as_new_after: DEFAULT_CONTINUE_AS_NEW_AFTER,
        }
    }

    pub fn open_house(open_house_id: &str, capacity: u32) -> Self {
        Self {
            resource_id: open_house_id.to_owned(),
            kind: ResourceKind::OpenHouse,
            capacity,
            continue_as_new_after: DEFAULT_CONTINUE_AS_NEW_AFTER,
        }
    }

    /// The ledger's workflow id.
    pub fn workflow_id(&self) -> String {
        ledger_workflow_id(self.kind, &self.resource_id)
    }
}

/// `ledger-agent-<id>` or `ledger-open-house-<id>`.
pub fn ledger_workflow_id(kind: ResourceKind, resource_id: &str) -> String {
    match kind {
        ResourceKind::Agent => format!("ledger-agent-{resource_id}"),
        ResourceKind::OpenHouse => format!("ledger-open-house-{resource_id}"),
    }
}

/// Update `reserve`: hold `seats` of `window` for a booking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveRequest {
    pub booking_id: String,
    pub window: Window,
    pub seats: u32,
    /// The workflow to signal (`seat_granted`) when a waitlisted booking gets its seat; empty
    /// when nobody is to be told (a direct client reservation).
    #[serde(default)]
    pub notify_workflow_id: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReserveStatus {
    Confirmed,
    Waitlisted,
    Refused,
}

/// Answer of `reserve` (and of `move`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveOutcome {
    pub status: ReserveStatus,
    /// 1-based place in the waitlist when waitlisted, else 0.
    pub waitlist_position: u32,
    /// Why it was refused, in words a lead can read; empty otherwise.
    pub reason: String,
    /// Free windows of the same length near the one asked for, when refused.
    pub alternatives: Vec<Window>,
}

impl ReserveOutcome {
    fn confirmed() -> Self {
        Self {
            status: ReserveStatus::Confirmed,
            waitlist_position: 0,
            reason: String::new(),
            alternatives: Vec::new(),
        }
    }
}

/// Update `release`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequest {
    pub booking_id: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseOutcome {
    /// False when the booking held nothing (already released, never reserved): harmless.
    pub released: bool,
    /// Bookings promoted from the waitlist into the freed seats, in promotion order.
    pub promoted: Vec<String>,
}

/// Update `move`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveRequest {
    pub booking_id: String,
    pub window: Window,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    pub booking_id: String,
    pub window: Window,
    pub seats: u32,
    #[serde(default)]
    pub notify_workflow_id: String,
}

/// Answer of the `availability` query.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Availability {
    pub resource_id: String,
    pub kind: ResourceKind,
    pub capacity: u32,
    /// Seats left in the busiest window (exact for an open house with one window).
    pub seats_left: u32,
    pub waitlist_length: u32,
    pub reservations: Vec<Holding>,
    pub waitlist: Vec<Holding>,
    /// Reservations accepted over the ledger's whole life, across continue-as-new runs.
    pub total_reservations: u64,
    pub runs: u32,
}

/// A seat that came free and went to a waiting booking, still to be announced to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promotion {
    pub booking_id: String,
    pub notify_workflow_id: String,
}

/// Everything a ledger remembers; carried whole across continue-as-new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub config: LedgerConfig,
    /// Keyed by booking id: one holding per booking, which is what makes `reserve` idempotent.
    pub holdings: BTreeMap<String, Holding>,
    /// First come, first promoted.
    pub waitlist: VecDeque<Holding>,
    /// Promotions the workflow still has to signal.
    pub to_announce: VecDeque<Promotion>,
    pub total_reservations: u64,
    pub runs: u32,
}

impl Ledger {
    pub fn new(config: LedgerConfig) -> Self {
        Self {
            config,
            holdings: BTreeMap::new(),
            waitlist: VecDeque::new(),
            to_announce: VecDeque::new(),
            total_reservations: 0,
            runs: 1,
        }
    }

    /// Forgets holdings and waiting bookings whose window ended at or before `now`, and says
    /// how many went. An ended window can never conflict with a new reservation, so keeping
    /// it only grows the state every reserve scans and every continue-as-new carries; a
    /// booking that releases a pruned holding later is answered `released: false`, which
    /// callers already treat as harmless.
    pub fn prune_ended(&mut self, now: DateTime<Utc>) -> usize {
        let before = self.holdings.len() + self.waitlist.len();
        self.holdings.retain(|_, h| h.window.end > now);
        self.waitlist.retain(|h| h.window.end > now);
        before - self.holdings.len() - self.waitlist.len()
    }

    /// What the validator refuses outright: requests that can never be right.
    pub fn check_reserve(&self, request: &ReserveRequest) -> Result<(), String> {
        if request.booking_id.trim().is_empty() {
            return Err("bookingId is required".into());
        }
        check_window(&request.window)?;
        if request.seats == 0 {
            return Err("seats must be at least 1".into());
        }
        if request.seats > self.config.capacity {
            return Err(format!(
                "{} seats asked, but {} has only {}",
                request.seats, self.config.resource_id, self.config.capacity
            ));
        }
        Ok(())
    }

    pub fn check_move(&self, request: &MoveRequest) -> Result<(), String> {
        check_window(&request.window)?;
        if !self.holdings.contains_key(&request.booking_id)
            && !self
                .waitlist
                .iter()
                .any(|h| h.booking_id == request.booking_id)
        {
            return Err(format!(
                "booking {} holds nothing in {}",
                request.booking_id, self.config.resource_id
            ));
        }
        Ok(())
    }

    /// Seats held by others in windows overlapping `window`.
    fn seats_taken(&self, window: &Window, except: &str) -> u32 {
        self.holdings
            .values()
            .filter(|h| h.booking_id != except && h.window.overlaps(window))
            .map(|h| h.seats)
            .sum()
    }

    fn fits(&self, window: &Window, seats: u32, except: &str) -> bool {
        self.seats_taken(window, except) + seats <= self.config.capacity
    }

    /// Reserves, or waitlists, or refuses. The same booking asking again gets the answer it
    /// holds (a redelivered reservation must not take a second seat or lose its place).
    pub fn reserve(&mut self, request: ReserveRequest) -> ReserveOutcome {
        if self.holdings.contains_key(&request.booking_id) {
            return ReserveOutcome::confirmed();
        }
        if let Some(position) = self.waitlist_position(&request.booking_id) {
            return waitlisted(position);
        }
        let holding = Holding {
            booking_id: request.booking_id,
            window: request.window,
            seats: request.seats,
            notify_workflow_id: request.notify_workflow_id,
        };
        if self.fits(&holding.window, holding.seats, "") {
            self.total_reservations += 1;
            self.holdings.insert(holding.booking_id.clone(), holding);
            return ReserveOutcome::confirmed();
        }
        match self.config.kind {
            ResourceKind::OpenHouse => {
                self.waitlist.push_back(holding);
                waitlisted(self.waitlist.len() as u32)
            }
            ResourceKind::Agent => self.refusal(&holding.window, holding.seats, ""),
        }
    }

    fn refusal(&self, window: &Window, seats: u32, except: &str) -> ReserveOutcome {
        ReserveOutcome {
            status: ReserveStatus::Refused,
            waitlist_position: 0,
            reason: format!(
                "{} is already booked between {} and {}",
                self.config.resource_id,
                window.start.to_rfc3339(),
                window.end.to_rfc3339()
            ),
            alternatives: self.alternatives(window, seats, except, 3),
        }
    }

    /// Up to `count` free windows of the same length, stepping by the window's length
    /// forward from the one asked for (then backward), within a week of it.
    pub fn alternatives(
        &self,
        window: &Window,
        seats: u32,
        except: &str,
        count: usize,
    ) -> Vec<Window> {
        let length = window.end - window.start;
        let step = if length < Duration::minutes(15) {
            Duration::minutes(15)
        } else {
            length
        };
        let limit = Duration::days(7);
        let mut found = Vec::new();
        let mut offset = step;
        while offset <= limit && found.len() < count {
            let later = window.shifted(offset);
            if self.fits(&later, seats, except) {
                found.push(later);
            }
            offset += step;
        }
        found
    }

    /// Frees the booking's seats (or its place in the waitlist) and promotes waiting bookings
    /// into what came free, in order.
    pub fn release(&mut self, booking_id: &str) -> ReleaseOutcome {
        if let Some(index) = self
            .waitlist
            .iter()
            .position(|h| h.booking_id == booking_id)
        {
            self.waitlist.remove(index);
            return ReleaseOutcome {
                released: true,
                promoted: Vec::new(),
            };
        }
        let released = self.holdings.remove(booking_id).is_some();
        let promoted = if released { self.promote() } else { Vec::new() };
        ReleaseOutcome { released, promoted }
    }

    /// Moves the booking's holding to a new window if it fits there; the old window's seats
    /// then go to the waitlist. A refused move keeps the old holding.
    pub fn move_to(&mut self, request: MoveRequest) -> ReserveOutcome {
        if let Some(index) = self
            .waitlist
            .iter()
            .position(|h| h.booking_id == request.booking_id)
        {
            // Still waiting: it waits for the new window, at the same place in line.
            self.waitlist[index].window = request.window;
            return waitlisted(index as u32 + 1);
        }
        let Some(seats) = self.holdings.get(&request.booking_id).map(|h| h.seats) else {
            return ReserveOutcome {
                status: ReserveStatus::Refused,
                waitlist_position: 0,
                reason: "the booking holds nothing to move".into(),
                alternatives: Vec::new(),
            };
        };
        if !self.fits(&request.window, seats, &request.booking_id) {
            return self.refusal(&request.window, seats, &request.booking_id);
        }
        if let Some(holding) = self.holdings.get_mut(&request.booking_id) {
            holding.window = request.window;
        }
        self.promote();
        ReserveOutcome::confirmed()
    }

    /// Waiting bookings that now fit, in waitlist order. A booking that does not fit does not
    /// block a later one asking for fewer seats or another window.
    fn promote(&mut self) -> Vec<String> {
        let mut promoted = Vec::new();
        let mut index = 0;
        while index < self.waitlist.len() {
            let (window, seats) = (self.waitlist[index].window, self.waitlist[index].seats);
            if self.fits(&window, seats, "") {
                let holding = self.waitlist.remove(index).expect("index is in range");
                promoted.push(holding.booking_id.clone());
                self.to_announce.push_back(Promotion {
                    booking_id: holding.booking_id.clone(),
                    notify_workflow_id: holding.notify_workflow_id.clone(),
                });
                self.total_reservations += 1;
                self.holdings.insert(holding.booking_id.clone(), holding);
            } else {
                index += 1;
            }
        }
        promoted
    }

    fn waitlist_position(&self, booking_id: &str) -> Option<u32> {
        self.waitlist
            .iter()
            .position(|h| h.booking_id == booking_id)
            .map(|i| i as u32 + 1)
    }

    pub fn availability(&self) -> Availability {
        // The busiest window decides: the most seats held by holdings overlapping any one of them.
        let busiest = self
            .holdings
            .values()
            .map(|h| self.seats_taken(&h.window, ""))
            .max()
            .unwrap_or(0);
        Availability {
            resource_id: self.config.resource_id.clone(),
            kind: self.config.kind,
            capacity: self.config.capacity,
            seats_left: self.config.capacity.saturating_sub(busiest),
            waitlist_length: self.waitlist.len() as u32,
            reservations: self.holdings.values().cloned().collect(),
            waitlist: self.waitlist.iter().cloned().collect(),
            total_reservations: self.total_reservations,
            runs: self.runs,
        }
    }
}

fn waitlisted(position: u32) -> ReserveOutcome {
    ReserveOutcome {
        status: ReserveStatus::Waitlisted,
        waitlist_position: position,
        reason: String::new(),
        alternatives: Vec::new(),
    }
}

fn check_window(window: &Window) -> Result<(), String> {
    if window.end <= window.start {
        return Err("the window must end after it starts".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2030, 5, 1, hour, 0, 0).unwrap()
    }

    fn window(from: u32, to: u32) -> Window {
        Window {
            start: at(from),
            end: at(to),
        }
    }

    fn reserve(id: &str, w: Window) -> ReserveRequest {
        ReserveRequest {
            booking_id: id.into(),
            window: w,
            seats: 1,
            notify_workflow_id: format!("booking-{id}"),
        }
    }

    #[test]
    fn pruning_forgets_only_windows_that_have_ended() {
        let mut ledger = Ledger::new(LedgerConfig::open_house("oh-1", 1));
        ledger.reserve(reserve("past", window(8, 9)));
        ledger.reserve(reserve("now", window(9, 11)));
        ledger.reserve(reserve("later", window(12, 13)));
        // Full at 9..11: the next one waits, and its window ends at 11.
        ledger.reserve(reserve("waiting", window(10, 11)));
        assert_eq!(ledger.waitlist.len(), 1);

        assert_eq!(ledger.prune_ended(at(10)), 1);
        let held: Vec<&str> = ledger.holdings.keys().map(String::as_str).collect();
        assert_eq!(held, ["later", "now"]);
        assert_eq!(ledger.waitlist.len(), 1);

        assert_eq!(ledger.prune_ended(at(11)), 2);
        let held: Vec<&str> = ledger.holdings.keys().map(String::as_str).collect();
        assert_eq!(held, ["later"]);
        assert!(ledger.waitlist.is_empty());
        // A pruned booking releasing later is harmless; the total is history, not state.
        assert!(!ledger.release("past").released);
        assert_eq!(ledger.total_reservations, 3);
    }

    #[test]
    fn overlapping_agent_windows_conflict_and_refusals_offer_free_alternatives() {
        let mut ledger = Ledger::new(LedgerConfig::agent("alex"));
        assert_eq!(
            ledger.reserve(reserve("a", window(10, 11))).status,
            ReserveStatus::Confirmed
        );
        let refused = ledger.reserve(reserve("b", window(10, 11)));
        assert_eq!(refused.status, ReserveStatus::Refused);
        assert!(refused.reason.contains("already booked"), "{refused:?}");
        assert_eq!(refused.alternatives.first(), Some(&window(11, 12)));
        // Touching windows do not overlap.
        assert_eq!(
            ledger.reserve(reserve("c", window(11, 12))).status,
            ReserveStatus::Confirmed
        );
        assert!(
            !refused
                .alternatives
                .iter()
                .any(|w| w.overlaps(&window(10, 12)))
                || refused.alternatives[0] == window(11, 12)
        );
    }

    #[test]
    fn reserving_again_is_idempotent() {
        let mut ledger = Ledger::new(LedgerConfig::open_house("oh", 1));
        ledger.reserve(reserve("a", window(10, 12)));
        let second = ledger.reserve(reserve("b", window(10, 12)));
        assert_eq!(second.waitlist_position, 1);
        assert_eq!(
            ledger.reserve(reserve("a", window(10, 12))),
            ReserveOutcome::confirmed()
        );
        assert_eq!(ledger.reserve(reserve("b", window(10, 12))), second);
        assert_eq!(ledger.holdings.len(), 1);
        assert_eq!(ledger.waitlist.len(), 1);
    }

    #[test]
    fn open_house_never_overbooks_and_promotes_in_order() {
        let mut ledger = Ledger::new(LedgerConfig::open_house("oh", 3));
        for n in 0..8 {
            ledger.reserve(reserve(&format!("r{n}"), window(10, 12)));
        }
        assert_eq!(ledger.holdings.len(), 3);
        assert_eq!(ledger.availability().seats_left, 0);
        assert_eq!(ledger.availability().waitlist_length, 5);
        let first = ledger.release("r0");
        assert_eq!(first.promoted, vec!["r3".to_owned()]);
        ledger.release("r1");
        // Leaving the line promotes nobody and moves the rest up.
        assert_eq!(ledger.release("r6").promoted, Vec::<String>::new());
        ledger.release("r4");
        assert_eq!(ledger.holdings.len(), 3);
        let announced: Vec<_> = ledger
            .to_announce
            .iter()
            .map(|p| p.booking_id.clone())
            .collect();
        assert_eq!(announced, ["r3", "r4", "r5"]);
        assert_eq!(ledger.availability().waitlist_length, 1);
        assert_eq!(ledger.availability().waitlist[0].booking_id, "r7");
    }

    #[test]
    fn a_move_that_does_not_fit_keeps_the_old_holding() {
        let mut ledger = Ledger::new(LedgerConfig::agent("alex"));
        ledger.reserve(reserve("a", window(10, 11)));
        ledger.reserve(reserve("b", window(12, 13)));
        let moved = ledger.move_to(MoveRequest {
            booking_id: "a".into(),
            window: window(12, 13),
        });
        assert_eq!(moved.status, ReserveStatus::Refused);
        assert_eq!(ledger.holdings["a"].window, window(10, 11));
        let moved = ledger.move_to(MoveRequest {
            booking_id: "a".into(),
            window: window(14, 15),
        });
        assert_eq!(moved.status, ReserveStatus::Confirmed);
        assert_eq!(ledger.holdings["a"].window, window(14, 15));
    }

    #[test]
    fn the_validator_refuses_nonsense() {
        let ledger = Ledger::new(LedgerConfig::open_house("oh", 2));
        let mut bad = reserve("a", window(11, 10));
        assert!(ledger.check_reserve(&bad).is_err());
        bad.window = window(10, 11);
        bad.seats = 3;
        assert!(ledger.check_reserve(&bad).is_err());
        bad.seats = 0;
        assert!(ledger.check_reserve(&bad).is_err());
        bad.seats = 1;
        bad.booking_id = " ".into();
        assert!(ledger.check_reserve(&bad).is_err());
    }
}
