//! The one place service errors become GraphQL errors: every error leaves with
//! `extensions.code`, the same code REST puts in its problem documents.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextRequest, NextSubscribe,
};
use async_graphql::futures_util::stream::BoxStream;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensionValues, Response, ServerError, ServerResult, Value, Variables};

use crate::service::ServiceError;
use crate::telemetry::current_request;

/// An error with a code, for failures decided in the GraphQL layer itself.
pub fn coded(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    let mut error = async_graphql::Error::new(message);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

/// Adds `extensions.code` to every error of a response, translating service
/// errors (kept as the error's source by resolvers' `?`).
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

#[async_graphql::async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        for error in &mut response.errors {
            translate(error);
        }
        response
    }

    /// The same for every response of a subscription (over WebSocket).
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        use async_graphql::futures_util::StreamExt as _;
        next.run(ctx, stream)
            .map(|mut response| {
                for error in &mut response.errors {
                    translate(error);
                }
                response
            })
            .boxed()
    }
}

fn translate(error: &mut ServerError) {
    let service = error
        .source
        .as_ref()
        .and_then(|source| source.downcast_ref::<ServiceError>());
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if let Some(service) = service {
        extensions.set("code", service.code());
        match service {
            ServiceError::Validation(fields) => {
                let list = fields
                    .iter()
                    .map(|f| {
                        let mut entry = async_graphql::indexmap::IndexMap::new();
                        entry.insert(
                            async_graphql::Name::new("path"),
                            Value::from(camel_path(&f.path)),
                        );
                        entry.insert(async_graphql::Name::new("code"), Value::from(f.code));
                        entry.insert(
                            async_graphql::Name::new("message"),
                            Value::from(f.message.clone()),
                        );
                        Value::Object(entry)
                    })
                    .collect::<Vec<_>>();
                extensions.set("errors", Value::List(list));
            }
            ServiceError::Conflict {
                existing_id: Some(id),
                ..
            } => extensions.set("existingId", id.to_string()),
            ServiceError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "GraphQL resolver failed");
                error.message =
                    "an unexpected error occurred; it has been logged with this request's id"
                        .to_owned();
            }
            _ => {}
        }
    } else if extensions.get("code").is_none() {
        // Errors of the GraphQL machinery itself: parsing, validation, limits.
        let code = if error.message.contains("nested too deep") {
            error.message = format!(
                "the query is nested deeper than {} levels",
                super::MAX_DEPTH
            );
            "query_too_deep"
        } else if error.message.contains("too complex") {
            error.message = format!(
                "the query is too complex (limit {}; a page costs its size times its fields): ask for smaller pages or fewer fields",
                super::MAX_COMPLEXITY
            );
            "query_too_complex"
        } else if error.path.is_empty() {
            "invalid_query"
        } else {
            "invalid_argument"
        };
        extensions.set("code", code);
    }
    if let Some(request) = current_request() {
        extensions.set("requestId", request.id);
    }
}

/// `lines[0].unit_price` as GraphQL names it: `lines[0].unitPrice`.
pub fn camel_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut upper = false;
    for c in path.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    out
}

/// Refuses documents with more than `max` aliased fields, a cheap way to
/// multiply work that depth and complexity limits do not see.
pub struct AliasLimit(pub usize);

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExtension(self.0))
    }
}

struct AliasLimitExtension(usize);

#[async_graphql::async_trait::async_trait]
impl Extension for AliasLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        // Spreads are expanded, so a fragment used many times counts many times.
        let aliases = document
            .operations
            .iter()
            .map(|(_, op)| count_aliases(&op.node.selection_set.node, &document, 0))
            .fold(0_usize, usize::saturating_add);
        if aliases > self.0 {
            let mut error = ServerError::new(
                format!(
                    "the query uses {aliases} aliases; at most {} are allowed",
                    self.0
                ),
                None,
            );
            let mut extensions = ErrorExtensionValues::default();
            extensions.set("code", "too_many_aliases");
            error.extensions = Some(extensions);
            return Err(error);
        }
        // PostgreSQL cannot store a NUL character; refuse it at the door
        // rather than fail deep inside (REST bodies are checked likewise).
        if variables.iter().any(|(_, value)| const_has_nul(value)) || query_has_nul(query) {
            let mut error =
                ServerError::new("text must not contain NUL (\\u0000) characters", None);
            let mut extensions = ErrorExtensionValues::default();
            extensions.set("code", "invalid_argument");
            error.extensions = Some(extensions);
            return Err(error);
        }
        Ok(document)
    }
}

fn const_has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::List(items) => items.iter().any(const_has_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || const_has_nul(value)),
        _ => false,
    }
}

/// A NUL written as an escape in a string literal of the document (a raw NUL
/// in the request body is refused before the document is parsed).
fn query_has_nul(query: &str) -> bool {
    let lower = query.to_ascii_lowercase();
    lower.contains("\\u0000")
        || lower.match_indices("\\u{").any(|(at, _)| {
            lower[at + 3..]
                .split('}')
                .next()
                .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b == b'0'))
        })
}

fn count_aliases(set: &SelectionSet, document: &ExecutableDocument, depth: usize) -> usize {
    // Fragment cycles are invalid GraphQL and refused by validation later;
    // the depth bound only keeps this count finite until then.
    if depth > 64 {
        return usize::MAX;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => usize::from(field.node.alias.is_some()).saturating_add(
                count_aliases(&field.node.selection_set.node, document, depth + 1),
            ),
            Selection::InlineFragment(fragment) => {
                count_aliases(&fragment.node.selection_set.node, document, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    count_aliases(&fragment.node.selection_set.node, document, depth + 1)
                }),
        })
        .fold(0, usize::saturating_add)
}
