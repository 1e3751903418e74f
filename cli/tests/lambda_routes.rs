//! Each Lambda function's router, built without its OpenAPI document (`byok_shared::handlers!(plain; ...)`),
//! serves every operation that function's document shows.

use byok_testkit::routes::assert_serves_every_operation;
use byok_testkit::{Backend, TestBackend};

#[tokio::test]
async fn each_plain_router_serves_every_documented_operation() {
    let backend = TestBackend::new(Backend::Embedded).await;
    let state = || backend.state(|_| {});
    let functions = [
        (
            byok_keys::router(state()),
            byok_keys::routes().split_for_parts().1,
        ),
        (
            byok_manage::router(state()),
            byok_manage::routes().split_for_parts().1,
        ),
        (
            byok_policies::router(state()),
            byok_policies::routes().split_for_parts().1,
        ),
        (
            byok_router::router(state()),
            byok_router::routes().split_for_parts().1,
        ),
        (
            byok_console::router(state()),
            byok_console::routes::<()>().split_for_parts().1,
        ),
        (
            byok_console::app(),
            byok_console::routes::<()>().split_for_parts().1,
        ),
    ];
    for (app, doc) in &functions {
        assert_serves_every_operation(app, doc).await;
    }
}
