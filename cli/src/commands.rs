use byok_shared::AppState;
use byok_shared::config::{Backend, Config, ConfigError};
use byok_shared::domain::provider::Provider;
use byok_shared::secret::Secret;
use std::fmt;

use crate::args::{BackendArgs, BackendKind, Cli, Command, OrgCommand, PlatformKeyCommand, Switch};
use byok_shared::repo::orgs::{self, PlatformSettings};

#[derive(Debug)]
pub enum CliError {
    Config(ConfigError),
    Failed(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Config(_) => 2,
            CliError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Config(e) => write!(f, "{e}"),
            CliError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::Config(e)
    }
}

impl From<byok_shared::Error> for CliError {
    fn from(e: byok_shared::Error) -> Self {
        CliError::Failed(e.message)
    }
}

impl From<byok_shared::app::StartError> for CliError {
    fn from(e: byok_shared::app::StartError) -> Self {
        match e {
            byok_shared::app::StartError::Config(c) => CliError::Config(c),
            other => CliError::Failed(other.to_string()),
        }
    }
}

fn config(args: &BackendArgs) -> Result<Config, CliError> {
    let mut config = Config::local(args.data_dir.clone())?;
    if args.backend == BackendKind::Aws {
        let missing = |variable| ConfigError {
            variable,
            reason: "must be set (flag or environment)".into(),
        };
        config.backend = Backend::Aws {
            table: args.table.clone().ok_or_else(|| missing("BYOK_TABLE"))?,
            kms_key_id: args
                .kms_key_id
                .clone()
                .ok_or_else(|| missing("BYOK_KMS_KEY_ID"))?,
        };
    }
    Ok(config)
}

pub(crate) async fn state(args: &BackendArgs) -> Result<AppState, CliError> {
    Ok(AppState::from_config(config(args)?).await?)
}

pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve {
            addr,
            threads,
            backend,
        } => {
            let _logs = byok_shared::telemetry::init_background();
            // A long-lived process: usage is written behind the response (see the router's usage_writes).
            let mut config = config(&backend)?;
            config.usage_behind_response = true;
            let state = AppState::from_config(config).await?;
            let threads = threads.unwrap_or_else(crate::listen::default_threads);
            let listeners = crate::listen::bind(addr, threads)
                .map_err(|e| CliError::Failed(format!("cannot listen on {addr}: {e}")))?;
            let local = listeners[0]
                .local_addr()
                .map_err(|e| CliError::Failed(e.to_string()))?;
            tracing::info!(addr = %local, threads, "serving the BYOK gateway");
            eprintln!("byok: listening on http://{local}");
            crate::server::serve(listeners, state)
                .await
                .map_err(|e| CliError::Failed(e.to_string()))
        }
        Command::Org {
            command:
                OrgCommand::Create {
                    name,
                    platform_keys,
                    platform_limit,
                    backend,
                },
        } => {
            let state = state(&backend).await?;
            let settings = PlatformSettings {
                enabled: platform_keys.map(Switch::enabled),
                monthly_limit: platform_limit,
            };
            let created = orgs::create_with(state.store(), &name, settings).await?;
            let platform = created
                .org
                .platform_entitlement(state.config().platform_keys_default);
            let out = serde_json::json!({
                "org_id": created.org.org_id,
                "name": created.org.name,
                "api_key_id": created.api_key_id,
                "api_key": created.api_key.expose(),
                "platform_keys": { "enabled": platform.enabled, "monthly_limit": platform.monthly_limit },
            });
            println!("{out}");
            Ok(())
        }
        Command::Org {
            command:
                OrgCommand::Set {
                    org_id,
                    platform_keys,
                    platform_limit,
                    backend,
                },
        } => {
            if platform_keys.is_none() && platform_limit.is_none() {
                return Err(CliError::Failed(
                    "nothing to change: give --platform-keys on|off and/or --platform-limit <usd>"
                        .into(),
                ));
            }
            let state = state(&backend).await?;
            let settings = PlatformSettings {
                enabled: platform_keys.map(Switch::enabled),
                monthly_limit: platform_limit,
            };
            let org = orgs::set_platform(state.store(), &org_id, settings).await?;
            let platform = org.platform_entitlement(state.config().platform_keys_default);
            let out = serde_json::json!({
                "org_id": org.org_id,
                "name": org.name,
                "platform_keys": { "enabled": platform.enabled, "monthly_limit": platform.monthly_limit },
            });
            println!("{out}");
            Ok(())
        }
        Command::PlatformKey {
            command: PlatformKeyCommand::Set { provider, backend },
        } => {
            let provider: Provider = provider.parse()?;
            let key = Secret::read_trimmed(std::io::stdin())
                .map_err(|e| CliError::Failed(format!("cannot read the key from stdin: {e}")))?;
            let state = state(&backend).await?;
            let saved = byok_shared::repo::platform_keys::set(
                state.store(),
                state.cipher(),
                provider,
                &key,
            )
            .await?;
            println!(
                "{}",
                serde_json::json!({ "provider": provider, "hint": saved.hint, "version": saved.version })
            );
            Ok(())
        }
        Command::Price { command } => crate::prices::run(command).await,
    }
}
