//! DynamoDB adapter: one table keyed by `pk`/`sk`; documents in `body` (JSON string), the optimistic-lock
//! version in `ver`, counters as numeric `c_<name>` attributes changed only by `ADD`, expiry in `ttl`.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, KeySchemaElement, KeyType, Put,
    ReturnValue, ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TransactWriteItem,
};

use super::{
    Bounded, Ceiling, Counters, Item, Page, Store, StoreError, WriteOp, ceiling_room,
    decode_cursor, encode_cursor, now_unix, valid_counter_name,
};

type Attrs = HashMap<String, AttributeValue>;

const COUNTER_PREFIX: &str = "c_";
const LIVE: &str = "(attribute_not_exists(#ttl) OR #ttl > :now)";

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// Create the single table (on-demand) and wait until it is active. Used by tests and local tooling;
    /// the deployed table comes from template.yaml.
    pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(invalid)
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(invalid)
        };
        client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .send()
            .await
            .map_err(map_err)?;
        for _ in 0..100 {
            let desc = client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(map_err)?;
            let status = desc
                .table()
                .and_then(|t| t.table_status())
                .map(|s| s.as_str().to_owned());
            if status.as_deref() == Some("ACTIVE") {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err(StoreError::Unavailable(format!(
            "table {table} did not become active"
        )))
    }

    fn key(pk: &str, sk: &str) -> Attrs {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
        ])
    }

    fn put(&self, item: &Item, condition: &str, values: Attrs) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_attrs(item)?))
            .condition_expression(condition)
            .expression_attribute_names("#ttl", "ttl")
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(invalid)
    }

    fn op_to_transact(&self, op: &WriteOp) -> Result<TransactWriteItem, StoreError> {
        let now = n(now_unix());
        Ok(match op {
            WriteOp::Put(item) => TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_attrs(item)?))
                        .build()
                        .map_err(invalid)?,
                )
                .build(),
            WriteOp::PutIfAbsent(item) => TransactWriteItem::builder()
                .put(self.put(item, ABSENT, HashMap::from([(":now".into(), now)]))?)
                .build(),
            WriteOp::PutIfVersion { item, expected } => TransactWriteItem::builder()
                .put(self.put(item, &version_is(), version_values(*expected, now))?)
                .build(),
            WriteOp::Delete { pk, sk, expected } => {
                let (condition, values) = delete_condition(*expected);
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(Self::key(pk, sk)))
                            .condition_expression(condition)
                            .expression_attribute_names("#ttl", "ttl")
                            .set_expression_attribute_values(Some(values))
                            .build()
                            .map_err(invalid)?,
                    )
                    .build()
            }
        })
    }
}

const ABSENT: &str = "attribute_not_exists(pk) OR #ttl <= :now";

fn version_is() -> String {
    format!("ver = :expected AND {LIVE}")
}

fn version_values(expected: u64, now: AttributeValue) -> Attrs {
    HashMap::from([
        (":expected".into(), n(expected as i64)),
        (":now".into(), now),
    ])
}

fn delete_condition(expected: Option<u64>) -> (String, Attrs) {
    let now = n(now_unix());
    match expected {
        Some(v) => (version_is(), version_values(v, now)),
        None => (
            format!("attribute_exists(pk) AND {LIVE}"),
            HashMap::from([(":now".into(), now)]),
        ),
    }
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(e.to_string())
}

fn map_err<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match &e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            match err.code() {
                Some("ConditionalCheckFailedException") => StoreError::Conflict,
                Some("TransactionCanceledException") => {
                    let message = err.message().unwrap_or_default();
                    if message.contains("ConditionalCheckFailed")
                        || message.contains("TransactionConflict")
                    {
                        StoreError::Conflict
                    } else {
                        StoreError::Unavailable(format!("transaction cancelled: {message}"))
                    }
                }
                Some("ValidationException") => {
                    StoreError::Invalid(err.message().unwrap_or("validation error").to_owned())
                }
                code => StoreError::Unavailable(format!(
                    "dynamodb {}: {}",
                    code.unwrap_or("error"),
                    err.message().unwrap_or_default()
                )),
            }
        }
        other => StoreError::Unavailable(format!("dynamodb unreachable: {}", short(other))),
    }
}

/// Errors DynamoDB answers when an item or partition is too busy, which it documents as safe to retry:
/// throttling, and the internal error DynamoDB Local gives when it times out waiting for an item lock.
fn is_contention<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    matches!(
        e,
        SdkError::ServiceError(s) if matches!(
            s.err().code(),
            Some(
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
            )
        )
    )
}

/// Send a counter update, retrying contention (`is_contention`) with backoff: the shared path of every
/// counter add, bounded or not.
async fn send_update(
    request: UpdateItemFluentBuilder,
) -> Result<UpdateItemOutput, SdkError<UpdateItemError, HttpResponse>> {
    let mut delays = contention_delays();
    loop {
        match request.clone().send().await {
            Ok(out) => return Ok(out),
            Err(e) => match delays.next() {
                Some(delay) if is_contention(&e) => tokio::time::sleep(delay).await,
                _ => return Err(e),
            },
        }
    }
}

/// Delays between retries of a contended counter add: exponential with jitter, 20 ms to 1 s, 6 times.
fn contention_delays() -> impl Iterator<Item = std::time::Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(std::time::Duration::from_millis(20))
        .with_max_delay(std::time::Duration::from_secs(1))
        .with_jitter()
        .with_max_times(6)
        .build()
}

fn short(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn to_attrs(item: &Item) -> Result<Attrs, StoreError> {
    let mut attrs = DynamoStore::key(&item.pk, &item.sk);
    attrs.insert("ver".into(), n(item.version as i64));
    attrs.insert(
        "body".into(),
        AttributeValue::S(serde_json::to_string(&item.body).map_err(invalid)?),
    );
    if let Some(t) = item.expires_at {
        attrs.insert("ttl".into(), n(t));
    }
    for (name, value) in &item.counters {
        attrs.insert(format!("{COUNTER_PREFIX}{name}"), n(*value));
    }
    Ok(attrs)
}

fn from_attrs(mut attrs: Attrs) -> Result<Item, StoreError> {
    let s = |a: Option<AttributeValue>, what: &str| match a {
        Some(AttributeValue::S(s)) => Ok(s),
        _ => Err(StoreError::Invalid(format!("item without string {what}"))),
    };
    let num = |a: &AttributeValue| match a {
        AttributeValue::N(v) => v.parse::<i64>().map_err(invalid),
        _ => Err(StoreError::Invalid("non-numeric attribute".into())),
    };
    let pk = s(attrs.remove("pk"), "pk")?;
    let sk = s(attrs.remove("sk"), "sk")?;
    let version = attrs
        .remove("ver")
        .map(|v| num(&v))
        .transpose()?
        .unwrap_or(1) as u64;
    let body = match attrs.remove("body") {
        Some(AttributeValue::S(text)) => serde_json::from_str(&text).map_err(invalid)?,
        _ => serde_json::Value::Null,
    };
    let expires_at = attrs.remove("ttl").map(|v| num(&v)).transpose()?;
    let counters = counters_from(&attrs)?;
    Ok(Item {
        pk,
        sk,
        version,
        body,
        counters,
        expires_at,
    })
}

fn counters_from(attrs: &Attrs) -> Result<Counters, StoreError> {
    attrs
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(COUNTER_PREFIX).map(|name| (name, v)))
        .map(|(name, v)| match v {
            AttributeValue::N(text) => text
                .parse::<i64>()
                .map(|v| (name.to_owned(), v))
                .map_err(invalid),
            _ => Err(StoreError::Invalid(format!(
                "counter {name} is not a number"
            ))),
        })
        .collect()
}

impl DynamoStore {
    /// One atomic `UpdateItem`: every delta `ADD`ed, and with `ttl` the expiry set if the item has none.
    async fn add_with_ttl(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        ttl: Option<i64>,
    ) -> Result<Counters, StoreError> {
        if deltas.is_empty() {
            return Ok(self
                .get(pk, sk)
                .await?
                .map(|i| i.counters)
                .unwrap_or_default());
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":null", AttributeValue::S("null".into()))
            .return_values(ReturnValue::AllNew);
        let mut adds = Vec::with_capacity(deltas.len());
        for (i, (name, delta)) in deltas.iter().enumerate() {
            if !valid_counter_name(name) {
                return Err(StoreError::Invalid(format!(
                    "invalid counter name {name:?}"
                )));
            }
            adds.push(format!("#c{i} :d{i}"));
            request = request
                .expression_attribute_names(format!("#c{i}"), format!("{COUNTER_PREFIX}{name}"))
                .expression_attribute_values(format!(":d{i}"), n(*delta));
        }
        let expiry = match ttl {
            Some(t) => {
                request = request.expression_attribute_values(":ttl", n(t));
                ", #ttl = if_not_exists(#ttl, :ttl)"
            }
            None => "",
        };
        if ttl.is_some() {
            request = request.expression_attribute_names("#ttl", "ttl");
        }
        let expression = format!(
            "SET ver = if_not_exists(ver, :one), body = if_not_exists(body, :null){expiry} ADD {}",
            adds.join(", ")
        );
        let request = request.update_expression(expression);
        // A counter add is money (usage, spend, rate windows): when the item is contended (a hot org's
        // spend item, many instances at once) DynamoDB throttles or, on DynamoDB Local, times out waiting
        // for the item's lock, after the SDK's own retries. Those errors mean "not applied": retry them with
        // backoff (bounded in count and by the client's operation timeout) rather than drop the add.
        let out = send_update(request).await.map_err(map_err)?;
        counters_from(&out.attributes.unwrap_or_default())
    }
}

#[async_trait]
impl Store for DynamoStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        match out.item {
            Some(attrs) => Ok(Some(from_attrs(attrs)?).filter(|i| i.is_live(now_unix()))),
            None => Ok(None),
        }
    }

    async fn put(&self, item: &Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(item)?))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn put_if_absent(&self, item: &Item) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(item)?))
            .condition_expression(ABSENT)
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now_unix()))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn put_if_version(&self, item: &Item, expected: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(item)?))
            .condition_expression(version_is())
            .expression_attribute_names("#ttl", "ttl")
            .set_expression_attribute_values(Some(version_values(expected, n(now_unix()))))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn delete(&self, pk: &str, sk: &str, expected: Option<u64>) -> Result<(), StoreError> {
        let (condition, values) = delete_condition(expected);
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .condition_expression(condition)
            .expression_attribute_names("#ttl", "ttl")
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn query(
        &self,
        pk: &str,
        sk_prefix: &str,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page, StoreError> {
        let limit = limit.clamp(1, 1000);
        let start = cursor
            .map(decode_cursor)
            .transpose()?
            .map(|sk| Self::key(pk, &sk));
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()));
        // DynamoDB refuses an empty begins_with operand; an empty prefix means the whole partition.
        request = if sk_prefix.is_empty() {
            request.key_condition_expression("pk = :pk")
        } else {
            request
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.to_owned()))
        };
        let out = request
            .set_exclusive_start_key(start)
            .limit(limit as i32 + 1)
            .consistent_read(true)
            .send()
            .await
            .map_err(map_err)?;
        let more_after = out
            .last_evaluated_key
            .as_ref()
            .and_then(|k| match k.get("sk") {
                Some(AttributeValue::S(sk)) => Some(sk.clone()),
                _ => None,
            });
        let now = now_unix();
        let mut scanned = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_attrs)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if scanned.len() > limit {
            scanned.truncate(limit);
            scanned.last().map(|i| encode_cursor(&i.sk))
        } else {
            more_after.map(|sk| encode_cursor(&sk))
        };
        let items = scanned.into_iter().filter(|i| i.is_live(now)).collect();
        Ok(Page { items, next })
    }

    async fn add(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
    ) -> Result<Counters, StoreError> {
        self.add_with_ttl(pk, sk, deltas, None).await
    }

    async fn add_expiring(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        expires_at: i64,
    ) -> Result<Counters, StoreError> {
        self.add_with_ttl(pk, sk, deltas, Some(expires_at)).await
    }

    async fn add_within(
        &self,
        pk: &str,
        sk: &str,
        deltas: &[(&str, i64)],
        ceiling: Ceiling<'_>,
    ) -> Result<Bounded, StoreError> {
        let room = ceiling_room(deltas, ceiling)?;
        // `ADD` as in `add`, under a condition on the ceiling's counter before the add; an absent counter
        // is 0, so it fits exactly when the room is not negative.
        let condition = if room >= 0 {
            "attribute_not_exists(#g) OR #g <= :room"
        } else {
            "#g <= :room"
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk, sk)))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":null", AttributeValue::S("null".into()))
            .expression_attribute_names("#g", format!("{COUNTER_PREFIX}{}", ceiling.counter))
            .expression_attribute_values(":room", n(room))
            .condition_expression(condition)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let mut adds = Vec::with_capacity(deltas.len());
        for (i, (name, delta)) in deltas.iter().enumerate() {
            adds.push(format!("#c{i} :d{i}"));
            request = request
                .expression_attribute_names(format!("#c{i}"), format!("{COUNTER_PREFIX}{name}"))
                .expression_attribute_values(format!(":d{i}"), n(*delta));
        }
        let expression = format!(
            "SET ver = if_not_exists(ver, :one), body = if_not_exists(body, :null) ADD {}",
            adds.join(", ")
        );
        match send_update(request.update_expression(expression)).await {
            Ok(out) => Ok(Bounded::Added(counters_from(
                &out.attributes.unwrap_or_default(),
            )?)),
            Err(SdkError::ServiceError(ref service))
                if let UpdateItemError::ConditionalCheckFailedException(failed) = service.err() =>
            {
                Ok(Bounded::Refused(counters_from(
                    failed.item().unwrap_or(&Attrs::new()),
                )?))
            }
            Err(e) => Err(map_err(e)),
        }
    }

    async fn transact(&self, ops: &[WriteOp]) -> Result<(), StoreError> {
        let items = ops
            .iter()
            .map(|op| self.op_to_transact(op))
            .collect::<Result<Vec<_>, _>>()?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(map_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::error::ErrorMetadata;
    use aws_sdk_dynamodb::operation::update_item::UpdateItemError;

    use super::*;

    fn service(code: &str) -> SdkError<UpdateItemError, ()> {
        SdkError::service_error(
            UpdateItemError::generic(ErrorMetadata::builder().code(code).build()),
            (),
        )
    }

    #[test]
    fn busy_items_are_retried_and_refusals_are_not() {
        for code in [
            "InternalServerError",
            "ProvisionedThroughputExceededException",
            "ThrottlingException",
            "RequestLimitExceeded",
        ] {
            assert!(is_contention(&service(code)), "{code}");
        }
        for code in [
            "ConditionalCheckFailedException",
            "ValidationException",
            "ResourceNotFoundException",
        ] {
            assert!(!is_contention(&service(code)), "{code}");
        }
        assert_eq!(contention_delays().count(), 6);
    }
}
