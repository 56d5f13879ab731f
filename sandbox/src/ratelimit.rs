//! Request-rate windows. HubSpot limits over a rolling 10-second window; SendGrid resets a
//! fixed window and tells the client when (`X-RateLimit-Reset`).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What a window says about one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    pub allowed: bool,
    /// Requests still allowed in the window after this one.
    pub remaining: u32,
    /// When the window frees capacity again.
    pub reset_in: Duration,
}

#[derive(Debug)]
pub struct RollingWindow {
    window: Duration,
    hits: VecDeque<Instant>,
}

impl RollingWindow {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            hits: VecDeque::new(),
        }
    }

    /// Counts the request if the window has room; a refused request is not counted.
    pub fn hit(&mut self, now: Instant, limit: u32) -> WindowState {
        while self
            .hits
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            self.hits.pop_front();
        }
        let allowed = (self.hits.len() as u64) < u64::from(limit);
        if allowed {
            self.hits.push_back(now);
        }
        let used = u32::try_from(self.hits.len()).unwrap_or(u32::MAX);
        let reset_in = self
            .hits
            .front()
            .map(|t| self.window.saturating_sub(now.duration_since(*t)))
            .unwrap_or_default();
        WindowState {
            allowed,
            remaining: limit.saturating_sub(used),
            reset_in,
        }
    }
}

#[derive(Debug)]
pub struct FixedWindow {
    window: Duration,
    started: Option<Instant>,
    count: u32,
}

impl FixedWindow {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            started: None,
            count: 0,
        }
    }

    pub fn hit(&mut self, now: Instant, limit: u32) -> WindowState {
        let started = match self.started {
            Some(s) if now.duration_since(s) < self.window => s,
            _ => {
                self.count = 0;
                self.started = Some(now);
                now
            }
        };
        let allowed = self.count < limit;
        if allowed {
            self.count += 1;
        }
        WindowState {
            allowed,
            remaining: limit.saturating_sub(self.count),
            reset_in: self.window.saturating_sub(now.duration_since(started)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_window_refuses_over_limit_and_recovers() {
        let mut w = RollingWindow::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(w.hit(t0, 2).remaining, 1);
        assert!(w.hit(t0, 2).allowed);
        let refused = w.hit(t0 + Duration::from_secs(1), 2);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        assert_eq!(refused.reset_in, Duration::from_secs(9));
        assert!(w.hit(t0 + Duration::from_secs(10), 2).allowed);
    }

    #[test]
    fn fixed_window_resets() {
        let mut w = FixedWindow::new(Duration::from_secs(1));
        let t0 = Instant::now();
        assert!(w.hit(t0, 1).allowed);
        assert!(!w.hit(t0 + Duration::from_millis(500), 1).allowed);
        assert!(w.hit(t0 + Duration::from_millis(1000), 1).allowed);
    }
}
