//! Start-up: the HTTP server around the [`AppState`]; THE route table lives in [`routes`].

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::db;
use crate::routes;
use crate::state::AppState;

/// The route table: every endpoint, in one place.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/openid-configuration")
            .route(web::get().to(routes::discovery::get)),
    )
    .service(
        web::resource("/.well-known/oauth-authorization-server")
            .route(web::get().to(routes::discovery::get)),
    )
    .service(web::resource("/jwks").route(web::get().to(routes::jwks::get)))
    .service(
        web::resource("/authorize")
            .route(web::get().to(routes::authorize::get))
            .route(web::post().to(routes::authorize::post)),
    )
    .service(
        web::resource("/login")
            .route(web::get().to(routes::login::get))
            .route(web::post().to(routes::login::post)),
    )
    .service(
        web::resource("/consent")
            .route(web::get().to(routes::consent::get))
            .route(web::post().to(routes::consent::post)),
    )
    .service(web::resource("/token").route(web::post().to(routes::token::post)))
    .service(web::resource("/register").route(web::post().to(routes::register::post)))
    .service(
        web::resource("/register/{client_id}")
            .route(web::get().to(routes::register::get))
            .route(web::put().to(routes::register::put))
            .route(web::delete().to(routes::register::delete)),
    )
    .service(web::resource("/admin").route(web::get().to(routes::admin_pages::index)))
    .service(web::resource("/admin/callback").route(web::get().to(routes::admin_pages::callback)))
    .service(
        web::resource("/admin/users").route(web::post().to(routes::admin_pages::users::create)),
    )
    .service(
        web::resource("/admin/users/{username}/disable")
            .route(web::post().to(routes::admin_pages::users::disable)),
    )
    .service(
        web::resource("/admin/users/{username}/enable")
            .route(web::post().to(routes::admin_pages::users::enable)),
    )
    .service(
        web::resource("/admin/users/{username}/grant-admin")
            .route(web::post().to(routes::admin_pages::users::grant_admin)),
    )
    .service(
        web::resource("/admin/users/{username}/revoke-admin")
            .route(web::post().to(routes::admin_pages::users::revoke_admin)),
    )
    .service(
        web::resource("/admin/users/{username}/password")
            .route(web::post().to(routes::admin_pages::users::set_password)),
    )
    .service(
        web::resource("/admin/clients").route(web::post().to(routes::admin_pages::clients::create)),
    )
    .service(
        web::resource("/admin/clients/{client_id}")
            .route(web::get().to(routes::admin_pages::clients::edit))
            .route(web::post().to(routes::admin_pages::clients::save)),
    )
    .service(
        web::resource("/admin/clients/{client_id}/secret")
            .route(web::post().to(routes::admin_pages::clients::rotate_secret)),
    )
    .service(
        web::resource("/admin/clients/{client_id}/delete")
            .route(web::get().to(routes::admin_pages::clients::confirm_delete))
            .route(web::post().to(routes::admin_pages::clients::delete)),
    )
    .service(
        web::scope("/admin/api")
            .app_data(web::QueryConfig::default().error_handler(|_, _| {
                crate::oauth::OAuthError::invalid_request("The query string is malformed").into()
            }))
            .service(
                web::resource("/users")
                    .route(web::get().to(routes::admin_api::list))
                    .route(web::post().to(routes::admin_api::create)),
            )
            .service(
                web::resource("/users/{username}")
                    .route(web::get().to(routes::admin_api::show))
                    .route(web::patch().to(routes::admin_api::update))
                    .route(web::delete().to(routes::admin_api::delete)),
            )
            .service(
                web::resource("/users/{username}/password")
                    .route(web::put().to(routes::admin_api::set_password)),
            )
            .service(
                web::resource("/users/{username}/disable")
                    .route(web::post().to(routes::admin_api::disable)),
            )
            .service(
                web::resource("/users/{username}/enable")
                    .route(web::post().to(routes::admin_api::enable)),
            )
            .service(
                web::resource("/users/{username}/sessions")
                    .route(web::delete().to(routes::admin_api::revoke_sessions)),
            ),
    )
    .service(web::resource("/revoke").route(web::post().to(routes::revocation::revoke)))
    .service(web::resource("/introspect").route(web::post().to(routes::revocation::introspect)))
    .service(
        web::resource("/userinfo")
            .route(web::get().to(routes::userinfo::get))
            .route(web::post().to(routes::userinfo::post)),
    )
    .service(
        web::resource("/logout")
            .route(web::get().to(routes::logout::get))
            .route(web::post().to(routes::logout::post)),
    )
    .service(web::resource("/assets/latchkey.css").route(web::get().to(routes::assets::stylesheet)))
    .service(web::resource("/assets/theme.css").route(web::get().to(routes::assets::theme)))
    .service(web::resource("/assets/extra.css").route(web::get().to(routes::assets::extra)))
    .service(web::resource("/healthz").route(web::get().to(routes::health::healthz)))
    .service(web::resource("/readyz").route(web::get().to(routes::health::readyz)))
    .service(web::resource("/metrics").route(web::get().to(routes::health::metrics)));
}

/// A built, listening server.
pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
}

impl Application {
    /// Binds `settings.server.bind` and builds the server around `state`.
    pub fn build(state: AppState) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(state.settings.server.bind)
            .with_context(|| format!("cannot listen on {}", state.settings.server.bind))?;
        Self::with_listener(state, listener)
    }

    /// Builds the server on an already bound listener (tests bind port 0).
    pub fn with_listener(state: AppState, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let workers = match state.settings.server.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let state = web::Data::new(state);
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .wrap(from_fn(routes::observe))
                .wrap(
                    DefaultHeaders::new()
                        .add(("X-Content-Type-Options", "nosniff"))
                        .add(("X-Frame-Options", "DENY"))
                        .add(("Referrer-Policy", "no-referrer"))
                        .add((
                            "Content-Security-Policy",
                            "default-src 'none'; frame-ancestors 'none'",
                        )),
                )
                .configure(routes)
                .default_service(web::to(routes::not_found))
        })
        .workers(workers)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the process is asked to stop, polling the change counters and running key
    /// rotation and purges in the background.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let poller = tokio::spawn(poll_changes(self.state.clone()));
        let state = self.state.clone();
        let refresher = tokio::spawn(async move {
            let period = Duration::from_secs(state.settings.keys.refresh_interval_secs);
            // Start-up already ran a rotation pass: the first one here is a period away.
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let purge_every = (3600 / state.settings.keys.refresh_interval_secs).max(1);
            let mut ticks: u64 = 0;
            loop {
                tick.tick().await;
                ticks += 1;
                if ticks % purge_every == 0 {
                    let now = state.clock.now();
                    match db::run(&state.pool, move |conn| db::purge_expired(conn, now)).await {
                        Ok(n) if n > 0 => tracing::info!(rows = n, "purged expired rows"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
                    }
                }
                if let Err(e) = state.rotate_keys().await {
                    tracing::warn!(error = %format!("{e:#}"), "key rotation or refresh failed; serving the previous set");
                }
            }
        });
        let result = self.server.await;
        refresher.abort();
        poller.abort();
        result
    }
}

/// Reads the database's change counters every `database.change_poll_interval_ms`, on a
/// connection of its own (so it never queues behind a saturated pool), and applies them: the
/// bound within which a client or key change made by any process reaches this one.
async fn poll_changes(state: web::Data<AppState>) {
    let period = Duration::from_millis(state.settings.database.change_poll_interval_ms);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn: Option<db::DbConnection> = None;
    let mut failing = false;
    loop {
        tick.tick().await;
        let pool = state.pool.clone();
        let read = tokio::task::spawn_blocking(move || {
            let mut c = match conn {
                Some(c) => c,
                None => pool.dedicated()?,
            };
            let generations = db::change_generations::current(&mut c)?;
            Ok::<_, db::DbError>((c, generations))
        })
        .await;
        let applied = match read {
            Ok(Ok((c, generations))) => {
                conn = Some(c);
                state.observe(generations).await
            }
            Ok(Err(e)) => {
                conn = None;
                Err(e.into())
            }
            Err(e) => {
                conn = None;
                Err(e.into())
            }
        };
        if applied.is_err() {
            state.clients.unconfirm();
        }
        match applied {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("change counters readable again; caches back in use");
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %format!("{e:#}"), "cannot read the change counters; caches are bypassed until they can be read");
            }
            Err(_) => {}
        }
    }
}
