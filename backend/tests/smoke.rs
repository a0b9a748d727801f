mod common;
use common::*;

both!(health_and_catalog_answer, |app: TestApp| async move {
    let (s, v) = app.json(app.get("/healthz")).await;
    assert_eq!((s, v["status"].as_str()), (200, Some("ok")));
    let (s, _) = app.json(app.get("/readyz")).await;
    assert_eq!(s, 200);
    assert_eq!(app.products().await.len(), 12);
});
