//! The root supervisor actor: owns the HTTP server handle, the job-handler actors and the
//! heartbeat; takes SIGTERM/SIGINT and stops the pieces in order (HTTP first, so no new jobs
//! arrive, then the handlers, which hand back unstarted jobs).

use std::time::Duration;

use actix::prelude::*;
use actix_web::{App, HttpServer, dev::ServerHandle, web as aweb};

use super::heartbeat::Heartbeat;
use super::socket::Inherited;
use std::sync::Arc;

use super::{Loaded, Mode, SystemError};
use crate::config::AssignMethod;
use crate::db::Backend;
use crate::db::DbPool;
use crate::db::queries::claim::ClaimMethod;
use crate::jobs::assign::{Assigner, tags_of_pools};
use crate::jobs::handler::HandlerCore;
use crate::jobs::{HandlerSet, JobHandler, JobsEnv};
use crate::web::{AppState, IdEncoder};
use crate::workflows::SchedulerHandle;
use crate::workflows::scheduler::{Scheduler, scheduler_pools};

/// How long a process whose sockets are inherited waits for its connections to close before it
/// stops its HTTP server (the process manager allows 30 s in all).
const HANDOVER: Duration = Duration::from_secs(20);

/// Stop everything gracefully.
#[derive(Message)]
#[rtype(result = "()")]
struct Stop(&'static str);

struct RootSupervisor {
    server: Option<ServerHandle>,
    handlers: HandlerSet,
    schedulers: SchedulerHandle,
    env: JobsEnv,
    pool: DbPool,
    server_name: String,
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    /// The maintenance role's loop, when this process competes for it.
    maintenance: Option<super::maintenance::LeaderHandle>,
    /// Unix sockets this process bound, removed on stop.
    sockets: Vec<std::path::PathBuf>,
    /// Whether the sockets were inherited (a successor may take them over).
    inherited: bool,
}

impl Actor for RootSupervisor {
    type Context = Context<Self>;
}

impl Handler<Stop> for RootSupervisor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, msg: Stop, _ctx: &mut Self::Context) -> Self::Result {
        log::info!("received {}: stopping", msg.0);
        let server = self.server.take();
        let handlers = self.handlers.clone();
        let schedulers = self.schedulers.clone();
        let env = self.env.clone();
        let heartbeat = self.heartbeat.take();
        let maintenance = self.maintenance.take();
        let sockets = std::mem::take(&mut self.sockets);
        let pool = self.pool.clone();
        let name = self.server_name.clone();
        let handover = self.inherited && server.is_some();
        Box::pin(
            async move {
                if let (true, Some(server)) = (handover, &server) {
                    super::drain::hand_over(server, HANDOVER).await;
                }
                if let Some(server) = server {
                    server.stop(true).await;
                }
                for path in &sockets {
                    let _ = std::fs::remove_file(path);
                }
                schedulers.shutdown(&env).await;
                handlers.shutdown().await;
                if let Some(m) = maintenance {
                    m.stop().await;
                }
                if let Some(h) = heartbeat {
                    h.abort();
                }
                let _ = tokio::task::spawn_blocking(move || Heartbeat::remove(&pool, &name)).await;
                log::info!("stopped");
                System::current().stop();
            }
            .into_actor(self),
        )
    }
}

/// Runs the process until a signal stops it.
pub fn serve(loaded: Loaded) -> Result<(), SystemError> {
    crate::logging::set_server_name(&loaded.server_name);
    // Before any thread starts: the sockets a process manager holds for this process.
    let inherited = if loaded.opts.mode.serves_http() {
        super::socket::inherited_listeners().map_err(|source| SystemError::Bind {
            addr: "LISTEN_FDS".into(),
            source,
        })?
    } else {
        None
    };
    let notify = super::socket::take_notify_socket();
    let pool = loaded.open_pool()?;
    let applied = pool.migrate()?;
    let interval = Duration::from_secs_f64(loaded.settings.galaxy.heartbeat_interval.max(0.1));
    Heartbeat::check_name_free(&pool, &loaded.server_name, interval)
        .map_err(SystemError::Runtime)?;
    if applied > 0 {
        log::info!("applied {applied} database migration(s)");
    }
    let sys = actix_rt::System::new();
    let result: Result<(), SystemError> =
        sys.block_on(async move { start(loaded, pool, inherited, notify).await });
    result?;
    sys.run().map_err(|e| SystemError::Runtime(e.to_string()))
}

async fn start(
    loaded: Loaded,
    pool: DbPool,
    inherited: Option<Vec<Inherited>>,
    notify: Option<std::path::PathBuf>,
) -> Result<(), SystemError> {
    let mode = loaded.opts.mode;
    let env = JobsEnv {
        pool: pool.clone(),
        toolbox: loaded.toolbox.clone(),
        settings: loaded.settings.clone(),
        job_conf: loaded.job_conf.clone(),
        server_name: loaded.server_name.clone(),
        assigner: Arc::new(Assigner::new(
            &loaded.job_conf,
            pool.backend(),
            mode == Mode::AllInOne,
            &loaded.server_name,
            mode.handles_jobs().then(|| tags_of_pools(&loaded.pools)),
            loaded.settings.galaxy.heartbeat_interval,
        )),
    };

    // A handler runs jobs when it has a job tag or is a static handler of the job conf; one
    // only in `workflow-schedulers` schedules invocations and runs no job at all (it does not
    // even adopt a stopped handler's jobs).
    let runs_jobs = mode.handles_jobs()
        && (!tags_of_pools(&loaded.pools).is_empty()
            || loaded
                .job_conf
                .handling
                .handlers
                .iter()
                .any(|h| h.id == loaded.server_name));
    let mut core_for_heartbeat = None;
    let handlers = if runs_jobs {
        let claim = match (
            pool.backend(),
            env.assigner.methods().contains(&AssignMethod::DbSkipLocked),
        ) {
            (Backend::Postgres, true) => ClaimMethod::SkipLocked,
            _ => ClaimMethod::TransactionIsolation,
        };
        let core = HandlerCore::new(env.clone(), tags_of_pools(&loaded.pools), claim)
            .map_err(|e| SystemError::Runtime(e.to_string()))?;
        core_for_heartbeat = Some(core.clone());
        let arbiter = Arbiter::new();
        let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| JobHandler::new(core));
        HandlerSet::new(vec![addr])
    } else {
        HandlerSet::default()
    };

    // The workflow scheduler: invocations of its pools (see `workflows::scheduler`).
    let schedulers = match Scheduler::new(
        env.clone(),
        handlers.clone(),
        scheduler_pools(mode.handles_jobs(), &loaded.pools),
        mode == Mode::AllInOne,
    ) {
        Some((scheduler, handle)) => {
            actix_rt::spawn(scheduler.run());
            handle
        }
        None => SchedulerHandle::default(),
    };

    if pool.backend() == Backend::Postgres && (!handlers.is_empty() || schedulers.schedules()) {
        let (url, hs, ws) = (
            loaded.settings.galaxy.database_connection.clone(),
            handlers.clone(),
            schedulers.clone(),
        );
        let mut wanted = tags_of_pools(&loaded.pools);
        wanted.push(loaded.server_name.clone());
        actix_rt::spawn(crate::db::listen::listen_forever(url, move |payload| {
            if payload.is_none_or(|p| p == "*" || wanted.iter().any(|w| w == p)) {
                hs.wake_all();
            }
            if payload.is_none_or(|p| ws.wants(p)) {
                ws.wake();
            }
        }));
    }

    // Inherited sockets belong to the process manager: it removes their files, not this process.
    let owns_sockets = inherited.is_none();
    let server = if mode.serves_http() {
        Some(start_http(
            &loaded,
            env.clone(),
            handlers.clone(),
            schedulers.clone(),
            inherited,
        )?)
    } else {
        None
    };

    let pools = loaded.pools.clone();
    let heartbeat = Heartbeat {
        pool: pool.clone(),
        server_name: loaded.server_name.clone(),
        mode: mode.as_str(),
        pools,
        interval: Duration::from_secs_f64(loaded.settings.galaxy.heartbeat_interval.max(0.1)),
        on_draining: core_for_heartbeat
            .map(|core| Box::new(move |d| core.set_draining(d)) as Box<dyn Fn(bool) + Send + Sync>),
    };
    let heartbeat = Some(actix_rt::spawn(heartbeat.run()));
    let maintenance = super::maintenance::candidate(mode, &loaded.pools).then(|| {
        super::maintenance::Leader {
            pool: pool.clone(),
            settings: loaded.settings.clone(),
            server_name: loaded.server_name.clone(),
        }
        .start()
    });

    let root = RootSupervisor {
        server: server.as_ref().map(|s| s.handle()),
        handlers,
        schedulers,
        env: env.clone(),
        pool,
        server_name: loaded.server_name.clone(),
        heartbeat,
        maintenance,
        inherited: !owns_sockets,
        sockets: if mode.serves_http() && owns_sockets {
            loaded
                .settings
                .gravity
                .gunicorn
                .bind
                .iter()
                .filter_map(|b| b.strip_prefix("unix:"))
                .map(std::path::PathBuf::from)
                .collect()
        } else {
            Vec::new()
        },
    }
    .start();
    match server {
        Some(mut server) => {
            actix_rt::spawn(async move {
                // The first poll starts the workers and the accept thread: only then does this
                // process serve (and a process it replaces may stop accepting).
                let first = std::future::poll_fn(|cx| {
                    std::task::Poll::Ready(std::pin::Pin::new(&mut server).poll(cx))
                })
                .await;
                let result = match first {
                    std::task::Poll::Ready(result) => result,
                    std::task::Poll::Pending => {
                        if let Some(path) = &notify {
                            super::socket::notify_ready(path);
                        }
                        server.await
                    }
                };
                if let Err(e) = result {
                    log::error!("http server: {e}");
                }
            });
        }
        None => {
            if let Some(path) = &notify {
                super::socket::notify_ready(path);
            }
        }
    }
    actix_rt::spawn(async move {
        let name = wait_for_signal().await;
        root.do_send(Stop(name));
    });
    log::info!(
        "galaxy-server {} started as `{}` ({} mode)",
        env!("CARGO_PKG_VERSION"),
        loaded.server_name,
        mode.as_str()
    );
    Ok(())
}

fn start_http(
    loaded: &Loaded,
    env: JobsEnv,
    handlers: HandlerSet,
    schedulers: SchedulerHandle,
    inherited: Option<Vec<Inherited>>,
) -> Result<actix_web::dev::Server, SystemError> {
    let g = &loaded.settings.gravity.gunicorn;
    let state = AppState {
        ids: IdEncoder::new(&loaded.settings.galaxy.id_secret),
        admin_users: std::sync::Arc::new(loaded.settings.galaxy.admin_users.clone()),
        trusted_proxies: Arc::new(crate::web::real_ip::TrustedProxies::parse(
            &g.forwarded_allow_ips,
        )),
        env,
        handlers,
        schedulers,
    };
    let data = aweb::Data::new(state);
    let routes = crate::web::configure(crate::web::body::BodyLimits::new(&loaded.settings.galaxy));
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap_fn(|req, srv| {
                use actix_web::dev::Service as _;
                let started = std::time::Instant::now();
                let method = req.method().to_string();
                let fut = srv.call(req);
                async move {
                    let mut res = fut.await?;
                    if super::drain::draining() {
                        // Keep-alive clients learn to reconnect (to the successor).
                        res.response_mut()
                            .head_mut()
                            .set_connection_type(actix_web::http::ConnectionType::Close);
                    }
                    let route = res
                        .request()
                        .match_pattern()
                        .unwrap_or_else(|| "(unmatched)".to_string());
                    crate::web::metrics::observe(
                        &method,
                        &route,
                        res.status().as_u16(),
                        started.elapsed().as_secs_f64(),
                    );
                    Ok(res)
                }
            })
            .app_data(data.clone())
            .configure(routes.clone())
    })
    .on_connect(super::drain::track)
    .workers(g.workers.max(1))
    .disable_signals()
    .shutdown_timeout(g.graceful_timeout);
    if let Some(secs) = g.keep_alive {
        server = server.keep_alive(std::time::Duration::from_secs(secs));
    }
    if let Some(listeners) = inherited {
        for l in listeners {
            let addr = format!("{l:?}");
            let bind_err = |source| SystemError::Bind {
                addr: addr.clone(),
                source,
            };
            server = match l {
                Inherited::Unix(l) => server.listen_uds(l).map_err(bind_err)?,
                Inherited::Tcp(l) => match &loaded.tls {
                    Some(tls) => server
                        .listen_rustls_0_23(l, (**tls).clone())
                        .map_err(bind_err)?,
                    None => server.listen(l).map_err(bind_err)?,
                },
            };
            log::info!("serving on the inherited {addr}");
        }
        return Ok(server.run());
    }
    let umask = crate::config::gravity::parse_umask(&g.umask).unwrap_or(0o007);
    for addr in &g.bind {
        let bind_err = |source| SystemError::Bind {
            addr: addr.clone(),
            source,
        };
        server = if let Some(path) = addr.strip_prefix("unix:") {
            super::socket::clear_stale(std::path::Path::new(path)).map_err(bind_err)?;
            let s = server.bind_uds(path).map_err(bind_err)?;
            super::socket::apply_umask(std::path::Path::new(path), umask).map_err(bind_err)?;
            s
        } else if let Some(tls) = &loaded.tls {
            server
                .bind_rustls_0_23(addr.as_str(), (**tls).clone())
                .map_err(bind_err)?
        } else {
            server.bind(addr.as_str()).map_err(bind_err)?
        };
        log::info!("serving on {addr}");
    }
    Ok(server.run())
}

async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        log::error!("cannot install signal handlers");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
