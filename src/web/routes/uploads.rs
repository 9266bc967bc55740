//! The tus resumable-upload routes (the protocol is in `web/tus`). Both spellings of the
//! creation URL are served: BioBlend posts to `/api/upload/resumable_upload`, Galaxy's
//! upload dialog to `/api/upload/resumable_upload/`.

use actix_web::http::Method;
use actix_web::web;

use crate::web::tus;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/upload/resumable_upload",
        web::method(Method::OPTIONS).to(tus::options),
    )
    .route("/upload/resumable_upload", web::post().to(tus::create))
    .route(
        "/upload/resumable_upload/",
        web::method(Method::OPTIONS).to(tus::options),
    )
    .route("/upload/resumable_upload/", web::post().to(tus::create))
    .route(
        "/upload/resumable_upload/{session_id}",
        web::method(Method::OPTIONS).to(tus::options),
    )
    .route(
        "/upload/resumable_upload/{session_id}",
        web::head().to(tus::head),
    )
    .route(
        "/upload/resumable_upload/{session_id}",
        web::patch().to(tus::patch),
    )
    .route(
        "/upload/resumable_upload/{session_id}",
        web::delete().to(tus::terminate),
    );
}
