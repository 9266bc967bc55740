//! The dashboard (`static/`): served from the `static/` directory when the server runs next to
//! it (so an edited copy or nginx's copy is used), else from the copy built into the binary.

use actix_web::{HttpResponse, web};

const FILES: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../static/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/app.js"),
    ),
    (
        "form.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/form.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../static/style.css"),
    ),
];

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/static/{file}", web::get().to(file));
}

async fn index() -> HttpResponse {
    serve("index.html")
}

async fn file(path: web::Path<String>) -> HttpResponse {
    serve(&path)
}

fn serve(name: &str) -> HttpResponse {
    let Some((name, mime, builtin)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return HttpResponse::NotFound().json(
            serde_json::json!({"err_msg": format!("no static file '{name}'"), "err_code": 404001}),
        );
    };
    let body = std::fs::read_to_string(std::path::Path::new("static").join(name))
        .unwrap_or_else(|_| builtin.to_string());
    HttpResponse::Ok()
        .content_type(*mime)
        .insert_header(("cache-control", "no-cache"))
        .body(body)
}
