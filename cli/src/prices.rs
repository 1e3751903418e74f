//! `byok price set|list|import`: the operator's price table, on either backend.

use byok_shared::domain::price::{self, Price, PriceFile, PriceTable};
use byok_shared::domain::provider::Provider;
use byok_shared::repo::prices;

use crate::args::PriceCommand;
use crate::commands::{CliError, state};

/// `default`, or `<provider>/<model>`.
fn target(model: &str) -> Result<Option<(Provider, String)>, CliError> {
    if model == "default" {
        return Ok(None);
    }
    let (provider, name) = model.split_once('/').ok_or_else(|| {
        CliError::Failed(format!(
            "{model:?}: expected <provider>/<model> (e.g. openai/gpt-4.1) or default"
        ))
    })?;
    Ok(Some((provider.parse()?, name.to_owned())))
}

fn print(table: &PriceTable) -> Result<(), CliError> {
    let json = serde_json::to_string_pretty(&table.to_file())
        .map_err(|e| CliError::Failed(e.to_string()))?;
    println!("{json}");
    Ok(())
}

pub async fn run(command: PriceCommand) -> Result<(), CliError> {
    match command {
        PriceCommand::Set {
            model,
            input,
            output,
            cache_read,
            cache_write,
            per_request,
            backend,
        } => {
            let price = Price {
                input,
                output,
                cache_read,
                cache_write,
                per_request,
            };
            price.validate()?;
            let target = target(&model)?;
            let state = state(&backend).await?;
            let table = prices::update(state.store(), |t| match &target {
                Some((provider, name)) => t.set(*provider, name, Some(price)),
                None => t.set_default(Some(price)),
            })
            .await?;
            print(&table)
        }
        PriceCommand::List { backend } => {
            let state = state(&backend).await?;
            print(&prices::load(state.store()).await?)
        }
        PriceCommand::Import {
            file,
            replace,
            backend,
        } => {
            let incoming = match &file {
                Some(path) => {
                    let text = std::fs::read_to_string(path).map_err(|e| {
                        CliError::Failed(format!("cannot read {}: {e}", path.display()))
                    })?;
                    PriceFile::parse(&text)?
                }
                None => price::shipped().clone(),
            };
            let state = state(&backend).await?;
            let table = prices::update(state.store(), |t| {
                if replace {
                    *t = PriceTable::default();
                }
                t.merge(&incoming)
            })
            .await?;
            print(&table)
        }
    }
}
