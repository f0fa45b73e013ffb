//! The request origin: where the request being served came from — its client address and request id — for the audit
//! events it causes. The request middleware (`routes::observe`) sets it for the handler's task,
//! and `db::run` carries it onto the blocking thread that runs the core, the same way the tracing
//! span is carried; outside a request (CLI, background jobs) there is none.

use std::net::IpAddr;

/// The client address and request id of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub address: IpAddr,
    pub request_id: String,
}

tokio::task_local! {
    static ORIGIN: Option<Origin>;
}

impl Origin {
    /// The origin of the request being served on this task or blocking thread, if any.
    pub fn current() -> Option<Origin> {
        ORIGIN.try_with(Clone::clone).ok().flatten()
    }
}

/// Runs `future` (a request's handler) with `origin` as its [`Origin::current`].
pub async fn in_scope<F: std::future::Future>(origin: Option<Origin>, future: F) -> F::Output {
    ORIGIN.scope(origin, future).await
}

/// Runs `f` (a blocking closure) with `origin` as its [`Origin::current`].
pub fn sync_in_scope<T>(origin: Option<Origin>, f: impl FnOnce() -> T) -> T {
    ORIGIN.sync_scope(origin, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_seen_inside_its_scope_only() {
        assert_eq!(Origin::current(), None);
        let origin = Origin {
            address: IpAddr::from([192, 0, 2, 1]),
            request_id: "r-1".into(),
        };
        let seen = sync_in_scope(Some(origin.clone()), Origin::current);
        assert_eq!(seen, Some(origin));
        assert_eq!(Origin::current(), None);
    }
}
