//! The console's part of the OpenAPI document (merged by `byok serve` into `/openapi.json`): static
//! files, no gateway key needed.

use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    paths(crate::index, crate::slash, crate::asset),
    tags((name = "console", description = "The management console's static files (public; the page calls the API with the admin's key)"))
)]
pub struct ApiDoc;
