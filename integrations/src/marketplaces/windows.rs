//! The window walk Taobao's and JD's connectors share.
//!
//! Both platforms list orders by modification time, over windows of bounded
//! length and for the last three months only. A run walks consecutive
//! windows from the cursor's `updated_since` (the oldest time still listed
//! when absent or older) up to `now - lag`: both platforms index orders with
//! a delay, so a window ending at `now` could miss an order written just
//! before; the walk stops short and leaves it to the next run.
//!
//! Each window is paged from its end: page 1 is read first to count the
//! window (when the window fits on one page, that probe is the page), then
//! the last page, then the pages before it down to page 1 (read again). As a
//! window ends in the past, an order can only leave it during a run
//! (modified again, it moves past the window's end); the orders listed after
//! it move one place towards page 1, onto pages not read yet, so none is
//! skipped (one may be read twice).
//!
//! Where the walk stands is kept as a [`PageToken`] in [`Cursor::page`]. A
//! page that completes a window raises the high-water mark to the window's
//! end: every order modified before it has been listed.

use std::future::Future;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::invalid;
use super::{ConnectorError, Cursor, MarketplaceOrder, OrdersPage, RejectedOrder};

/// The shape of a platform's walk.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Walk {
    /// The longest window the platform accepts.
    pub(crate) window: TimeDelta,
    /// How far back the platform lists orders.
    pub(crate) history: TimeDelta,
    /// Where a run without a (recent enough) `since` starts, past the
    /// history limit: its first window stays inside the limit for this long.
    pub(crate) history_margin: TimeDelta,
    /// How long before `now` the walk ends (the platform's indexing delay).
    pub(crate) lag: TimeDelta,
    /// The platform's name, for error messages.
    pub(crate) platform: &'static str,
}

/// Where a run stands between calls, kept as JSON in [`Cursor::page`]: the
/// window in progress and the page of it to read next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PageToken {
    /// The window's start.
    pub(crate) start: DateTime<Utc>,
    /// The window's end.
    pub(crate) end: DateTime<Utc>,
    /// The next page to read (pages go down to 1); 0 while the window's size
    /// is not known.
    page: u32,
    /// The window's page count; 0 while not known (page 1 is read first to
    /// learn it).
    total_pages: u32,
    /// Set in every token written now. Tokens written before every window
    /// was paged from its end (JD paged up from page 1) lack it: their window
    /// is started over, which reads pages again but skips none.
    #[serde(default)]
    from_end: bool,
    /// Where the run's walk ends, fixed when the run starts (`now - lag`
    /// then): a walk bounded by the moving clock would go on adding
    /// second-long windows while it runs. Absent in older tokens (the walk
    /// then ends at `now - lag` of the page that reaches it).
    #[serde(default)]
    until: Option<DateTime<Utc>>,
}

impl PageToken {
    /// A window not looked into yet.
    pub(crate) fn fresh((start, end): (DateTime<Utc>, DateTime<Utc>)) -> Self {
        Self {
            start,
            end,
            page: 0,
            total_pages: 0,
            from_end: true,
            until: None,
        }
    }

    /// The same token, its run's walk ending at `until`.
    pub(crate) fn until(self, until: DateTime<Utc>) -> Self {
        Self {
            until: Some(until),
            ..self
        }
    }
}

/// A page of a window as the platform listed it.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Listed {
    /// The orders in the whole window, when the answer counts them (the
    /// probe's must).
    pub(crate) total: Option<u64>,
    /// The page's orders, as listed.
    pub(crate) items: Vec<Value>,
}

/// Where a page read leaves the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    /// The end of the window read, when the page completed that window.
    completed: Option<DateTime<Utc>>,
    /// The next page's token; `None` once the run is complete.
    next: Option<PageToken>,
}

impl Progress {
    /// The page of `orders` (and `rejected`) read, continuing `cursor`'s run.
    /// Its high-water mark is the newest order's `updated_at`, raised to the
    /// window's end when the page completed its window.
    pub(crate) fn page(
        self,
        cursor: &Cursor,
        orders: Vec<MarketplaceOrder>,
        rejected: Vec<RejectedOrder>,
    ) -> Result<OrdersPage, ConnectorError> {
        let newest = orders.iter().map(|order| order.updated_at).max();
        let next = match self.next {
            Some(token) => Some(Cursor {
                updated_since: cursor.updated_since,
                page: Some(encode_token(&token)?),
            }),
            None => None,
        };
        Ok(OrdersPage {
            orders,
            rejected,
            next,
            high_water: newest.max(self.completed),
        })
    }
}

impl Walk {
    /// The token the page to read at `now` is named by: the cursor's (checked
    /// against the history limit) or, starting a run, its first window's;
    /// `None` when there is nothing to walk.
    pub(crate) fn token(
        &self,
        cursor: &Cursor,
        now: DateTime<Utc>,
    ) -> Result<Option<PageToken>, ConnectorError> {
        Ok(match &cursor.page {
            None => self.first_token(cursor.updated_since, now),
            Some(page) => self.resume(self.decode_token(page)?, now),
        })
    }

    /// Reads the page `token` names with `list(page_no, probe)`: a window not
    /// looked into yet is probed (page 1, counted) and, when it has more than
    /// one page, its last page read next; otherwise the token's page. Gives
    /// the page's orders as listed and where the walk goes on.
    pub(crate) async fn read_page<F, Fut>(
        &self,
        token: PageToken,
        page_size: u32,
        now: DateTime<Utc>,
        list: F,
    ) -> Result<(Vec<Value>, Progress), ConnectorError>
    where
        F: Fn(u32, bool) -> Fut,
        Fut: Future<Output = Result<Listed, ConnectorError>>,
    {
        let (fetched, total_pages, listed) = if token.total_pages == 0 {
            let probe = list(1, true).await?;
            let total = probe
                .total
                .ok_or_else(|| invalid(format!("{} did not count the window", self.platform)))?;
            let total_pages = page_count(total, page_size);
            if total_pages <= 1 {
                (1, total_pages, probe)
            } else {
                (total_pages, total_pages, list(total_pages, false).await?)
            }
        } else {
            (
                token.page,
                token.total_pages,
                list(token.page, false).await?,
            )
        };
        let progress = Progress {
            completed: (fetched <= 1).then_some(token.end),
            next: self.advance(token, fetched, total_pages, now),
        };
        Ok((listed.items, progress))
    }

    /// Where the walk ends at `now`: the lag before it.
    fn end(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.lag
    }

    /// The oldest modification time the platform lists at `now`.
    fn history_limit(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - self.history
    }

    /// Where a run starts at `now` when `since` is absent or older: the
    /// history limit plus a margin.
    fn earliest(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.history_limit(now) + self.history_margin
    }

    /// The window starting at `start` (at most `window` long, ending by the
    /// walk's end at `now`), or `None` once `start` has reached that end.
    fn window_from(
        &self,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.window_until(start, self.end(now))
    }

    /// The window starting at `start`, at most `window` long and ending by
    /// `until`; `None` once `start` has reached `until`.
    fn window_until(
        &self,
        start: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        (start < until).then(|| (start, (start + self.window).min(until)))
    }

    /// The windows of a run at `now`: from `since` (whole seconds; the
    /// earliest time listed when absent or older) in steps of `window` up to
    /// `now - lag`.
    pub(crate) fn windows(
        &self,
        since: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let earliest = self.earliest(now);
        let start = since.map_or(earliest, |since| since.trunc_subsecs(0).max(earliest));
        std::iter::successors(self.window_from(start, now), |&(_, end)| {
            self.window_from(end, now)
        })
        .collect()
    }

    /// The token a run starts with, or `None` when there is nothing to walk.
    fn first_token(&self, since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<PageToken> {
        self.windows(since, now)
            .first()
            .copied()
            .map(|window| PageToken::fresh(window).until(self.end(now)))
    }

    /// A stored token checked against the history limit at `now`: a window
    /// that has slipped out of it (a run resumed long after) starts over at
    /// the earliest time still listed.
    fn resume(&self, token: PageToken, now: DateTime<Utc>) -> Option<PageToken> {
        if token.start >= self.history_limit(now) {
            Some(token)
        } else {
            self.first_token(None, now)
        }
    }

    /// The token after page `fetched` of the window's `total_pages` was
    /// read: the page before it, else the next window, else `None` (the run
    /// is complete).
    fn advance(
        &self,
        token: PageToken,
        fetched: u32,
        total_pages: u32,
        now: DateTime<Utc>,
    ) -> Option<PageToken> {
        if fetched > 1 {
            Some(PageToken {
                page: fetched - 1,
                total_pages,
                ..token
            })
        } else {
            let until = token.until.unwrap_or_else(|| self.end(now));
            self.window_until(token.end, until)
                .map(|window| PageToken::fresh(window).until(until))
        }
    }

    /// A token read back from [`Cursor::page`]. A token written before
    /// windows were paged from their end starts its window over.
    fn decode_token(&self, page: &str) -> Result<PageToken, ConnectorError> {
        let platform = self.platform;
        let token: PageToken = serde_json::from_str(page)
            .map_err(|error| invalid(format!("bad {platform} page token {page:?}: {error}")))?;
        let pages_ok = if token.total_pages == 0 {
            token.page == 0
        } else {
            (1..=token.total_pages).contains(&token.page)
        };
        if token.start < token.end && !token.from_end {
            Ok(PageToken {
                until: token.until,
                ..PageToken::fresh((token.start, token.end))
            })
        } else if token.start < token.end && pages_ok {
            Ok(token)
        } else {
            Err(invalid(format!(
                "inconsistent {platform} page token {page:?}"
            )))
        }
    }
}

/// The token as stored in [`Cursor::page`].
fn encode_token(token: &PageToken) -> Result<String, ConnectorError> {
    serde_json::to_string(token)
        .map_err(|error| invalid(format!("cannot store the page token: {error}")))
}

/// Pages of `page_size` needed for `total` orders.
fn page_count(total: u64, page_size: u32) -> u32 {
    u32::try_from(total.div_ceil(u64::from(page_size.max(1)))).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::future::{Ready, ready};

    use serde_json::json;

    use super::*;
    use crate::marketplaces::common::test_order;

    /// A walk shaped like Taobao's and JD's.
    const WALK: Walk = Walk {
        window: TimeDelta::days(1),
        history: TimeDelta::days(89),
        history_margin: TimeDelta::hours(1),
        lag: TimeDelta::minutes(3),
        platform: "Test",
    };

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn token(start: &str, end: &str, page: u32, total_pages: u32) -> PageToken {
        PageToken {
            page,
            total_pages,
            ..PageToken::fresh((utc(start), utc(end)))
        }
    }

    /// A platform listing one window's orders (ids), `page_size` a page, and
    /// the pages asked for, as (page, probe).
    struct FakePlatform {
        orders: RefCell<Vec<u64>>,
        page_size: usize,
        calls: RefCell<Vec<(u32, bool)>>,
    }

    impl FakePlatform {
        fn new(count: u64, page_size: usize) -> Self {
            Self {
                orders: RefCell::new((1..=count).collect()),
                page_size,
                calls: RefCell::new(Vec::new()),
            }
        }

        fn list(&self, page: u32, probe: bool) -> Ready<Result<Listed, ConnectorError>> {
            self.calls.borrow_mut().push((page, probe));
            let orders = self.orders.borrow();
            let skip = (page as usize - 1) * self.page_size;
            ready(Ok(Listed {
                total: Some(orders.len() as u64),
                items: orders
                    .iter()
                    .skip(skip)
                    .take(self.page_size)
                    .map(|id| json!(id))
                    .collect(),
            }))
        }
    }

    #[test]
    fn windows_are_at_most_a_day_and_end_the_lag_before_now() {
        let now = utc("2024-05-03T12:00:00Z");
        let windows = WALK.windows(Some(utc("2024-05-01T06:00:00.750Z")), now);
        assert_eq!(
            windows,
            [
                (utc("2024-05-01T06:00:00Z"), utc("2024-05-02T06:00:00Z")),
                (utc("2024-05-02T06:00:00Z"), utc("2024-05-03T06:00:00Z")),
                (utc("2024-05-03T06:00:00Z"), utc("2024-05-03T11:57:00Z")),
            ]
        );
        assert!(WALK.windows(Some(now), now).is_empty());
        // Inside the lag there is nothing to walk yet.
        assert!(
            WALK.windows(Some(utc("2024-05-03T11:57:00Z")), now)
                .is_empty()
        );
        assert_eq!(
            WALK.windows(Some(utc("2024-05-03T11:56:59Z")), now),
            [(utc("2024-05-03T11:56:59Z"), utc("2024-05-03T11:57:00Z"))]
        );
        assert!(
            WALK.windows(Some(utc("2024-06-01T00:00:00Z")), now)
                .is_empty()
        );
    }

    #[test]
    fn windows_go_back_three_months_at_most() {
        let now = utc("2024-05-31T12:00:00Z");
        let earliest = utc("2024-03-03T13:00:00Z");
        for since in [None, Some(utc("2023-01-01T00:00:00Z"))] {
            let windows = WALK.windows(since, now);
            assert_eq!(windows[0], (earliest, earliest + WALK.window));
            assert_eq!(windows.last().unwrap().1, now - WALK.lag);
            assert!(
                windows
                    .iter()
                    .all(|(start, end)| start < end && *end - *start <= WALK.window)
            );
            assert!(windows.windows(2).all(|pair| pair[0].1 == pair[1].0));
        }
    }

    #[test]
    fn tokens_round_trip_and_bad_ones_are_refused() {
        let token = token("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 3, 4);
        let encoded = encode_token(&token).unwrap();
        let value: Value = serde_json::from_str(&encoded).unwrap();
        assert_eq!(value["page"], 3);
        assert_eq!(value["total_pages"], 4);
        assert_eq!(value["from_end"], true);
        assert!(value["start"].is_string() && value["end"].is_string());
        assert_eq!(WALK.decode_token(&encoded).unwrap(), token);
        let fresh = PageToken::fresh((token.start, token.end));
        assert_eq!(
            WALK.decode_token(&encode_token(&fresh).unwrap()).unwrap(),
            fresh
        );

        for bad in [
            "not json".to_owned(),
            r#"{"start":"2024-05-01T00:00:00Z"}"#.to_owned(),
            encode_token(&PageToken { page: 5, ..token }).unwrap(),
            encode_token(&PageToken { page: 0, ..token }).unwrap(),
            encode_token(&PageToken {
                total_pages: 0,
                ..token
            })
            .unwrap(),
            encode_token(&PageToken {
                end: token.start,
                ..token
            })
            .unwrap(),
        ] {
            match WALK.decode_token(&bad) {
                Err(ConnectorError::Invalid(message)) => {
                    assert!(message.contains("Test page token"), "{message}");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn tokens_written_before_paging_from_the_end_start_their_window_over() {
        // JD's tokens went up from page 1: page 2 of 3 was next.
        let legacy = r#"{"start":"2024-05-01T00:00:00Z","end":"2024-05-02T00:00:00Z","page":2,"total_pages":3}"#;
        let fresh = token("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 0, 0);
        assert_eq!(WALK.decode_token(legacy).unwrap(), fresh);
        let unknown = r#"{"start":"2024-05-01T00:00:00Z","end":"2024-05-02T00:00:00Z","page":1,"total_pages":0}"#;
        assert_eq!(WALK.decode_token(unknown).unwrap(), fresh);
        let empty = r#"{"start":"2024-05-01T00:00:00Z","end":"2024-05-01T00:00:00Z","page":1,"total_pages":0}"#;
        assert!(WALK.decode_token(empty).is_err());
    }

    #[test]
    fn a_token_out_of_the_history_limit_starts_over_at_the_limit() {
        let now = utc("2024-05-31T12:00:00Z");
        let old = token("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", 2, 5);
        assert_eq!(
            WALK.resume(old, now),
            Some(
                PageToken::fresh((utc("2024-03-03T13:00:00Z"), utc("2024-03-04T13:00:00Z")))
                    .until(utc("2024-05-31T11:57:00Z"))
            )
        );
        let recent = token("2024-05-30T00:00:00Z", "2024-05-31T00:00:00Z", 2, 5);
        assert_eq!(WALK.resume(recent, now), Some(recent));
        // A run's first window, started past the limit, stays resumable for the margin.
        let busy = PageToken {
            page: 2,
            total_pages: 3,
            ..WALK.first_token(None, now).unwrap()
        };
        assert_eq!(WALK.resume(busy, now + TimeDelta::minutes(59)), Some(busy));
        assert_ne!(WALK.resume(busy, now + TimeDelta::minutes(61)), Some(busy));
    }

    #[test]
    fn the_cursor_names_the_token() {
        let now = utc("2024-05-02T12:00:00Z");
        let start = Cursor {
            updated_since: Some(utc("2024-05-01T00:00:00Z")),
            page: None,
        };
        let first = token("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 0, 0)
            .until(utc("2024-05-02T11:57:00Z"));
        assert_eq!(WALK.token(&start, now).unwrap(), Some(first));
        let later = token("2024-05-02T00:00:00Z", "2024-05-02T11:57:00Z", 2, 3);
        let resumed = Cursor {
            page: Some(encode_token(&later).unwrap()),
            ..start.clone()
        };
        assert_eq!(WALK.token(&resumed, now).unwrap(), Some(later));
        let recent = Cursor {
            updated_since: Some(now - TimeDelta::minutes(1)),
            page: None,
        };
        assert_eq!(WALK.token(&recent, now).unwrap(), None);
        let broken = Cursor {
            page: Some("{}".to_owned()),
            ..start
        };
        assert!(WALK.token(&broken, now).is_err());
        assert_eq!(page_count(0, 100), 0);
        assert_eq!(page_count(100, 100), 1);
        assert_eq!(page_count(101, 100), 2);
        assert_eq!(page_count(5, 0), 5);
    }

    #[tokio::test]
    async fn a_window_is_paged_from_its_last_page_down_then_the_next_window() {
        let now = utc("2024-05-02T12:00:00Z");
        let first = token("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 0, 0);
        let platform = FakePlatform::new(5, 2);
        let list = |page, probe| platform.list(page, probe);
        let mut seen = Vec::new();
        let mut next = Some(first);
        while let Some(token) = next.filter(|token| token.start == first.start) {
            let (items, progress) = WALK.read_page(token, 2, now, list).await.unwrap();
            seen.extend(items);
            let done = progress.next.is_none_or(|next| next.start != first.start);
            assert_eq!(progress.completed, done.then_some(first.end));
            next = progress.next;
        }
        assert_eq!(
            *platform.calls.borrow(),
            [(1, true), (3, false), (2, false), (1, false)]
        );
        assert_eq!(seen, [json!(5), json!(3), json!(4), json!(1), json!(2)]);
        assert_eq!(
            next,
            Some(
                token("2024-05-02T00:00:00Z", "2024-05-02T11:57:00Z", 0, 0)
                    .until(utc("2024-05-02T11:57:00Z"))
            )
        );
    }

    #[test]
    fn a_runs_walk_ends_where_it_ended_when_the_run_started() {
        let started = utc("2024-05-02T12:00:00Z");
        let cursor = Cursor {
            updated_since: Some(utc("2024-05-01T12:00:00Z")),
            page: None,
        };
        let first = WALK.token(&cursor, started).unwrap().unwrap();
        assert_eq!(first.end, utc("2024-05-02T11:57:00Z"));
        // The run's one window is read a while later: no second-long window
        // follows it as the clock moves on.
        let later = started + TimeDelta::seconds(5);
        assert_eq!(WALK.advance(first, 1, 1, later), None);
        // A token from before the walk end was stored ends at the lag then.
        let old = PageToken {
            until: None,
            ..first
        };
        assert!(WALK.advance(old, 1, 1, later).is_some());
    }

    #[tokio::test]
    async fn an_order_leaving_the_window_mid_walk_skips_none() {
        let now = utc("2024-05-02T12:00:00Z");
        let first = token("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 0, 0);
        let platform = FakePlatform::new(5, 2);
        let list = |page, probe| platform.list(page, probe);
        let (mut seen, progress) = WALK.read_page(first, 2, now, list).await.unwrap();
        assert_eq!(seen, [json!(5)]);
        // Order 2, on a page not read yet, is modified again: it leaves the
        // window and 3, 4 and 5 move one place towards page 1.
        platform.orders.borrow_mut().retain(|id| *id != 2);
        let mut next = progress.next;
        while let Some(token) = next.filter(|token| token.start == first.start) {
            let (items, progress) = WALK.read_page(token, 2, now, list).await.unwrap();
            seen.extend(items);
            next = progress.next;
        }
        for id in [1, 3, 4, 5] {
            assert!(seen.contains(&json!(id)), "{id} in {seen:?}");
        }
    }

    #[tokio::test]
    async fn a_window_on_one_page_is_read_by_its_probe() {
        let now = utc("2024-05-02T12:00:00Z");
        let last = token("2024-05-02T00:00:00Z", "2024-05-02T11:57:00Z", 0, 0);
        let platform = FakePlatform::new(2, 100);
        let list = |page, probe| platform.list(page, probe);
        let (items, progress) = WALK.read_page(last, 100, now, list).await.unwrap();
        assert_eq!(items, [json!(1), json!(2)]);
        assert_eq!(*platform.calls.borrow(), [(1, true)]);
        assert_eq!(
            progress,
            Progress {
                completed: Some(last.end),
                next: None,
            }
        );

        let uncounted = |_: u32, _: bool| ready(Ok::<_, ConnectorError>(Listed::default()));
        assert!(matches!(
            WALK.read_page(last, 100, now, uncounted).await,
            Err(ConnectorError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn an_empty_window_moves_the_high_water_mark_to_its_end() {
        let now = utc("2024-05-02T12:00:00Z");
        let cursor = Cursor {
            updated_since: Some(utc("2024-05-01T00:00:00Z")),
            page: None,
        };
        let first = WALK.token(&cursor, now).unwrap().unwrap();
        let platform = FakePlatform::new(0, 100);
        let list = |page, probe| platform.list(page, probe);
        let (items, progress) = WALK.read_page(first, 100, now, list).await.unwrap();
        assert!(items.is_empty());
        let page = progress.page(&cursor, Vec::new(), Vec::new()).unwrap();
        assert_eq!(page.high_water, Some(utc("2024-05-02T00:00:00Z")));
        assert!(page.orders.is_empty() && page.rejected.is_empty());
        let next = page.next.unwrap();
        assert_eq!(next.updated_since, cursor.updated_since);
        assert_eq!(
            WALK.decode_token(next.page.as_deref().unwrap()).unwrap(),
            token("2024-05-02T00:00:00Z", "2024-05-02T11:57:00Z", 0, 0)
                .until(utc("2024-05-02T11:57:00Z"))
        );
    }

    #[test]
    fn a_page_inside_its_window_keeps_the_newest_order_as_high_water() {
        let cursor = Cursor::default();
        let window = token("2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 2, 3);
        let orders = vec![
            test_order("1", utc("2024-05-01T03:00:00Z")),
            test_order("2", utc("2024-05-01T05:00:00Z")),
        ];
        let rejected = vec![RejectedOrder {
            external_id: Some("3".to_owned()),
            error: "bad".to_owned(),
        }];
        let inside = Progress {
            completed: None,
            next: Some(window),
        };
        let page = inside
            .page(&cursor, orders.clone(), rejected.clone())
            .unwrap();
        assert_eq!(page.high_water, Some(utc("2024-05-01T05:00:00Z")));
        assert_eq!(page.rejected, rejected);
        assert_eq!(page.orders, orders);
        let last = Progress {
            completed: Some(window.end),
            next: None,
        };
        let page = last.page(&cursor, orders, Vec::new()).unwrap();
        assert_eq!(page.high_water, Some(window.end));
        assert_eq!(page.next, None);
        let nothing = last.page(&cursor, Vec::new(), Vec::new()).unwrap();
        assert_eq!(nothing.high_water, Some(window.end));
    }
}
