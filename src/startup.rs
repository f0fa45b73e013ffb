//! Start-up: the HTTP server around the [`AppState`]; THE route table lives in [`routes`].

mod admin_routes;
mod background;
mod email_routes;
pub mod tls;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use crate::metrics::access::MetricsAccess;
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
        web::resource("/login/second-factor")
            .route(web::post().to(routes::login_second_factor::post)),
    )
    .service(web::resource("/login/passkey").route(web::post().to(routes::login_passkey::post)))
    .service(
        web::resource("/account/passkey").route(web::post().to(routes::account_passkey::start)),
    )
    .service(
        web::resource("/account/passkey/finish")
            .route(web::post().to(routes::account_passkey::finish)),
    )
    .service(
        web::resource("/account/factors/{id}/rename")
            .route(web::post().to(routes::account_passkey::rename)),
    )
    .service(web::resource("/account").route(web::get().to(routes::account::get)))
    .service(web::resource("/account/callback").route(web::get().to(routes::account::callback)))
    .service(web::resource("/account/totp").route(web::post().to(routes::account::totp_start)))
    .service(
        web::resource("/account/totp/confirm").route(web::post().to(routes::account::totp_confirm)),
    )
    .service(
        web::resource("/account/factors/{id}/remove")
            .route(web::post().to(routes::account::remove_factor)),
    )
    .service(
        web::resource("/account/recovery-codes")
            .route(web::post().to(routes::account::regenerate_codes)),
    )
    .service(
        web::resource("/account/sessions/end-others")
            .route(web::post().to(routes::account::end_other_sessions)),
    )
    .service(
        web::resource("/account/sessions/{sid}/end")
            .route(web::post().to(routes::account::end_session)),
    )
    .service(
        web::resource("/account/apps/{client_id}/revoke")
            .route(web::post().to(routes::account::revoke_app)),
    )
    .configure(routes::account_profile::configure)
    .service(
        web::resource("/consent")
            .route(web::get().to(routes::consent::get))
            .route(web::post().to(routes::consent::post)),
    )
    .service(
        web::resource("/token")
            .route(web::post().to(routes::token::post))
            .route(web::method(Method::OPTIONS).to(routes::cors::options_post)),
    )
    .service(web::resource("/register").route(web::post().to(routes::register::post)))
    .service(
        web::resource("/register/{client_id}")
            .route(web::get().to(routes::register::get))
            .route(web::put().to(routes::register::put))
            .route(web::delete().to(routes::register::delete)),
    )
    .service(web::resource("/admin").route(web::get().to(routes::admin_pages::index)))
    .service(web::resource("/admin/callback").route(web::get().to(routes::admin_pages::callback)))
    .service(web::resource("/admin/audit").route(web::get().to(routes::admin_pages::audit::list)))
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
        web::resource("/admin/users/{username}/unlock")
            .route(web::post().to(routes::admin_pages::users::unlock)),
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
    .configure(admin_routes::admin_page_groups)
    .configure(email_routes::pages)
    .service(
        web::scope("/admin/api")
            .app_data(web::QueryConfig::default().error_handler(|_, _| {
                crate::oauth::OAuthError::invalid_request("The query string is malformed").into()
            }))
            .service(web::resource("/audit").route(web::get().to(routes::admin_audit::list)))
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
                web::resource("/users/{username}/unlock")
                    .route(web::post().to(routes::admin_api::unlock)),
            )
            .service(
                web::resource("/users/{username}/mfa")
                    .route(web::get().to(routes::admin_api::mfa))
                    .route(web::delete().to(routes::admin_api::mfa_reset)),
            )
            .service(
                web::resource("/users/{username}/sessions")
                    .route(web::delete().to(routes::admin_api::revoke_sessions)),
            )
            .configure(admin_routes::admin_api_groups)
            .configure(email_routes::api)
            .configure(routes::admin_api_resources::configure),
    )
    .service(
        web::resource("/revoke")
            .route(web::post().to(routes::revocation::revoke))
            .route(web::method(Method::OPTIONS).to(routes::cors::options_post)),
    )
    .service(web::resource("/introspect").route(web::post().to(routes::revocation::introspect)))
    .service(
        web::resource("/userinfo")
            .route(web::get().to(routes::userinfo::get))
            .route(web::post().to(routes::userinfo::post))
            .route(web::method(Method::OPTIONS).to(routes::cors::options_userinfo)),
    )
    .service(
        web::resource("/logout")
            .route(web::get().to(routes::logout::get))
            .route(web::post().to(routes::logout::post)),
    )
    .service(web::resource("/assets/latchkey.css").route(web::get().to(routes::assets::stylesheet)))
    .service(web::resource("/assets/theme.css").route(web::get().to(routes::assets::theme)))
    .service(web::resource("/assets/extra.css").route(web::get().to(routes::assets::extra)))
    .service(
        web::resource("/assets/passkey.js").route(web::get().to(routes::assets::passkey_script)),
    )
    .service(web::resource("/healthz").route(web::get().to(routes::health::healthz)))
    .service(web::resource("/readyz").route(web::get().to(routes::health::readyz)));
}

/// `/metrics`: on the main listener, or alone on `metrics.bind` when that is set.
pub fn metrics_route(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(routes::health::metrics)));
}

/// A built, listening server.
pub struct Application {
    port: u16,
    /// Workers and connections per worker, for the descriptor watch.
    limits: (usize, usize),
    server: Server,
    /// The `/metrics` listener when `metrics.bind` is set, and its port.
    metrics: Option<(Server, u16)>,
    /// The TLS certificates when `server.tls` is set, reloaded on SIGHUP and file change.
    certificates: Option<Arc<tls::Certificates>>,
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
        let access = web::Data::new(MetricsAccess::load(&state.settings.metrics)?);
        let certificates = tls::Certificates::load(&state.settings.server.tls)?;
        let separate_metrics = !state.settings.metrics.bind.is_empty();
        let connections = crate::limits::connections_per_worker(
            state.settings.server.max_connections_per_worker,
            workers,
            crate::limits::descriptor_limit(),
        );
        let state = web::Data::new(state);
        let metrics = if separate_metrics {
            Some(metrics_server(&state, &access)?)
        } else {
            None
        };
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(access.clone())
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
                .wrap(from_fn(routes::transport::head_and_hsts))
                .configure(routes)
                .configure(|cfg| {
                    if !separate_metrics {
                        metrics_route(cfg);
                    }
                })
                .default_service(web::to(routes::not_found))
        })
        .workers(workers)
        .max_connections(connections)
        .shutdown_timeout(state.settings.server.shutdown_grace_secs);
        let server = match &certificates {
            Some(certs) => server.listen_rustls_0_23(listener, certs.server_config()?)?,
            None => server.listen(listener)?,
        }
        .run();
        Ok(Self {
            port,
            limits: (workers, connections),
            server,
            metrics,
            certificates,
            state,
        })
    }

    /// The port of the `/metrics` listener when `metrics.bind` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the process is asked to stop, polling the change counters and running key
    /// rotation and purges in the background. SIGTERM stops accepting connections at once, lets
    /// requests in flight finish within `server.shutdown_grace_secs`, then stops the background
    /// tasks and the metrics listener and returns `Ok` (exit status 0).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let poller = tokio::spawn(background::poll_changes(self.state.clone()));
        let refresher = tokio::spawn(background::refresh_keys(self.state.clone()));
        let reloader = self.certificates.map(|certs| {
            let secs = self.state.settings.server.tls.watch_secs;
            let poll = (secs > 0).then(|| Duration::from_secs(secs));
            tokio::spawn(tls::reload_on_change(certs, poll))
        });
        let metrics = self.metrics.map(|(server, _)| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let (workers, per_worker) = self.limits;
        let watcher = tokio::spawn(crate::limits::watch_descriptors(
            Duration::from_secs(10),
            per_worker,
            workers,
        ));
        let result = self.server.await;
        tracing::info!("server stopped; stopping background tasks");
        refresher.abort();
        poller.abort();
        watcher.abort();
        let _ = refresher.await;
        let _ = poller.await;
        if let Some(reloader) = reloader {
            reloader.abort();
        }
        if let Some((task, handle)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        result
    }
}

/// The `/metrics` listener on `metrics.bind`: one worker, the request middleware, nothing else.
fn metrics_server(
    state: &web::Data<AppState>,
    access: &web::Data<MetricsAccess>,
) -> anyhow::Result<(Server, u16)> {
    let bind = &state.settings.metrics.bind;
    let listener = TcpListener::bind(bind)
        .with_context(|| format!("cannot listen on {bind} (metrics.bind)"))?;
    let port = listener.local_addr()?.port();
    let (data, access) = (state.clone(), access.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(access.clone())
            .wrap(from_fn(routes::observe))
            .configure(metrics_route)
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok((server, port))
}
