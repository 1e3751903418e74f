//! A function's handlers, listed once, as either kind of router:
//! - `openapi`: `utoipa_axum::routes!` per group, each handler's operation and schemas built into the
//!   OpenAPI document, for the local server and its `/openapi.json`;
//! - `plain`: only each handler's path and methods from its `#[utoipa::path]`, for a Lambda function.
//!   Building the operations and their schemas took about half a millisecond of the router's init (about
//!   a tenth of it), and the Lambda functions dropped the document at once.
//!
//! Both come from the same list, so a Lambda function serves the operations its document shows (each
//! function's router is checked by `cli/tests/lambda_routes.rs`).

use axum::Router;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use utoipa::openapi::path::HttpMethod;

/// Add one handler at `path` for `methods` (a path that exists already gains the methods).
pub fn add<S, H, T>(router: Router<S>, path: &str, methods: &[HttpMethod], handler: H) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    H: Handler<T, S>,
    T: 'static,
{
    let methods = methods.iter().fold(MethodRouter::new(), |r, m| {
        r.on(method_filter(m), handler.clone())
    });
    router.route(if path.is_empty() { "/" } else { path }, methods)
}

fn method_filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
    }
}

/// The handlers as a router. Groups in brackets share a path, as in `utoipa_axum::routes!`:
/// `byok_shared::handlers!(openapi OpenApiRouter::with_openapi(doc); [a::list, a::create], [b::get])` or
/// `byok_shared::handlers!(plain; [a::list, a::create], [b::get])`. The calling crate depends on `axum`,
/// `utoipa` and `utoipa_axum` (which re-exports the `paste` the plain form needs).
#[macro_export]
macro_rules! handlers {
    (openapi $doc:expr; $([$($($seg:ident)::+),+ $(,)?]),+ $(,)?) => {
        $doc $( .routes(::utoipa_axum::routes!($($($seg)::+),+)) )+
    };
    (plain; $([$($($seg:ident)::+),+ $(,)?]),+ $(,)?) => {{
        let router = ::axum::Router::new();
        $($( let router = $crate::handlers!(@add router; ($($seg)::+); []; $($seg)::+); )+)+
        router
    }};
    // Walk to the handler's last segment: its `#[utoipa::path]` struct is `__path_<name>` beside it.
    (@add $router:ident; ($($handler:tt)+); [$($prefix:ident)*]; $last:ident) => {{
        use ::utoipa::Path as _;
        ::utoipa_axum::paste! {
            $crate::http::routes::add(
                $router,
                &$($prefix ::)* [<__path_ $last>]::path(),
                &$($prefix ::)* [<__path_ $last>]::methods(),
                $($handler)+,
            )
        }
    }};
    (@add $router:ident; ($($handler:tt)+); [$($prefix:ident)*]; $head:ident :: $($rest:tt)+) => {
        $crate::handlers!(@add $router; ($($handler)+); [$($prefix)* $head]; $($rest)+)
    };
}
