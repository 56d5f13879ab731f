use std::sync::Arc;

use tokio::sync::Notify;

use super::*;

fn cache(ttl_ms: u64, max_entries: usize, timeout_ms: u64) -> Arc<CoalescingCache<u32>> {
    Arc::new(CoalescingCache::new(CacheLimits {
        ttl: Duration::from_millis(ttl_ms),
        max_entries,
        fetch_timeout: Duration::from_millis(timeout_ms),
    }))
}

/// Waits (bounded) until `cache` has started `n` fetches.
async fn fetches_reach(cache: &CoalescingCache<u32>, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while cache.fetches() < n {
        assert!(Instant::now() < deadline, "{n} fetches never started");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_found_answer_is_served_from_memory_until_it_expires() {
    let cache = cache(60_000, 10, 1000);
    for _ in 0..5 {
        let answer = cache.get_or_fetch("a", || async { Ok(Some(7)) }).await;
        assert_eq!(answer, Ok(Some(7)));
    }
    assert_eq!(cache.fetches(), 1);

    let expiring = self::cache(0, 10, 1000);
    for _ in 0..3 {
        expiring
            .get_or_fetch("a", || async { Ok(Some(7)) })
            .await
            .unwrap();
    }
    assert_eq!(expiring.fetches(), 3, "a zero time to live caches nothing");
}

#[tokio::test]
async fn concurrent_misses_for_one_key_share_one_fetch() {
    let cache = cache(60_000, 10, 5000);
    let release = Arc::new(Notify::new());
    let waiters: Vec<_> = (0..20)
        .map(|_| {
            let cache = cache.clone();
            let release = release.clone();
            tokio::spawn(async move {
                cache
                    .get_or_fetch("open-house", || async move {
                        release.notified().await;
                        Ok(Some(3))
                    })
                    .await
            })
        })
        .collect();
    fetches_reach(&cache, 1).await;
    // Let every other request reach the flight before it answers.
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    release.notify_one();
    for waiter in waiters {
        assert_eq!(waiter.await.unwrap(), Ok(Some(3)));
    }
    assert_eq!(cache.fetches(), 1);
}

#[tokio::test]
async fn a_slow_fetch_for_one_key_does_not_block_other_keys() {
    let cache = cache(60_000, 10, 60_000);
    let stalled = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_fetch("slow", std::future::pending::<Fetched<u32>>)
                .await
        })
    };
    fetches_reach(&cache, 1).await;
    let other = tokio::time::timeout(
        Duration::from_secs(5),
        cache.get_or_fetch("fast", || async { Ok(Some(1)) }),
    )
    .await
    .expect("another key answers while the slow fetch hangs");
    assert_eq!(other, Ok(Some(1)));
    stalled.abort();
}

#[tokio::test]
async fn an_unknown_key_is_remembered_so_a_flood_of_it_costs_one_fetch() {
    let cache = cache(60_000, 10, 1000);
    for _ in 0..100 {
        let answer = cache.get_or_fetch("nope", || async { Ok(None) }).await;
        assert_eq!(answer, Ok(None));
    }
    assert_eq!(cache.fetches(), 1);
    assert_eq!(cache.len(), 1);
}

#[tokio::test]
async fn failures_are_not_cached() {
    let cache = cache(60_000, 10, 1000);
    let failed = cache
        .get_or_fetch("a", || async { Err("connection refused".into()) })
        .await;
    assert_eq!(
        failed,
        Err(FetchError::Unavailable("connection refused".into()))
    );
    assert!(cache.is_empty());
    let answer = cache.get_or_fetch("a", || async { Ok(Some(2)) }).await;
    assert_eq!(answer, Ok(Some(2)));
    assert_eq!(cache.fetches(), 2);
}

#[tokio::test]
async fn a_fetch_that_hangs_times_out_for_everyone_waiting_on_it() {
    let cache = cache(60_000, 10, 50);
    let requests: Vec<_> = (0..5)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get_or_fetch("hangs", std::future::pending::<Fetched<u32>>)
                    .await
            })
        })
        .collect();
    for request in requests {
        let answer = tokio::time::timeout(Duration::from_secs(5), request)
            .await
            .expect("the timeout answers")
            .unwrap();
        assert_eq!(answer, Err(FetchError::TimedOut(Duration::from_millis(50))));
    }
    assert!(cache.fetches() <= 5);
    assert!(cache.is_empty(), "a timeout is not cached");
    let answer = cache.get_or_fetch("hangs", || async { Ok(Some(1)) }).await;
    assert_eq!(answer, Ok(Some(1)), "the next request asks again");
}

#[tokio::test]
async fn the_cache_never_holds_more_than_its_bound_and_drops_the_oldest_first() {
    let cache = cache(60_000, 3, 1000);
    for n in 0..1000u32 {
        let key = format!("random-{n}");
        let value = if n % 2 == 0 { Some(n) } else { None };
        cache
            .get_or_fetch(&key, || async { Ok(value) })
            .await
            .unwrap();
        assert!(cache.len() <= 3);
    }
    assert_eq!(cache.len(), 3);
    let fetched = cache.fetches();
    // The three newest are kept; the oldest was dropped and costs a fetch again.
    for n in 997..1000u32 {
        cache
            .get_or_fetch(&format!("random-{n}"), || async { Ok(Some(0)) })
            .await
            .unwrap();
    }
    assert_eq!(cache.fetches(), fetched);
    cache
        .get_or_fetch("random-0", || async { Ok(Some(0)) })
        .await
        .unwrap();
    assert_eq!(cache.fetches(), fetched + 1);
}

#[tokio::test]
async fn refreshing_a_key_does_not_count_it_twice() {
    let cache = cache(0, 2, 1000);
    for _ in 0..10 {
        cache
            .get_or_fetch("a", || async { Ok(Some(1)) })
            .await
            .unwrap();
    }
    assert_eq!(cache.len(), 1);
    let state = cache.lock();
    assert_eq!(state.order.len(), 1, "the order index has no stale keys");
}

#[tokio::test]
async fn a_cancelled_fetch_hands_over_to_a_waiting_request() {
    let cache = cache(60_000, 10, 60_000);
    let leader = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_fetch("k", std::future::pending::<Fetched<u32>>)
                .await
        })
    };
    fetches_reach(&cache, 1).await;
    let follower = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get_or_fetch("k", || async { Ok(Some(9)) }).await })
    };
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    leader.abort();
    let answer = tokio::time::timeout(Duration::from_secs(5), follower)
        .await
        .expect("the follower does not hang on the cancelled fetch")
        .unwrap();
    assert_eq!(answer, Ok(Some(9)));
    assert_eq!(cache.fetches(), 2);
}
