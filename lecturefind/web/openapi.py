"""The OpenAPI 3.1 document of the JSON API (its schemas are checked against real responses in the tests)."""
from __future__ import annotations

from typing import Any

from .config import MAX_K, MAX_QUERY_CHARS

NUM_OR_NULL = {"type": ["number", "null"]}
INT_OR_NULL = {"type": ["integer", "null"]}

LINK = {"type": "object", "required": ["url", "label"], "properties": {
    "url": {"type": "string"}, "label": {"type": "string"}, "lecture": {"type": "string"},
    "lecture_id": {"type": "integer"}, "start_s": {"type": "number"}, "end_s": {"type": "number"},
    "deck": {"type": "string"}, "page": {"type": "integer"}}}

MOMENT = {
    "type": "object",
    "description": "One search result, the same object as `lecturefind search --json` prints (with `file` as a "
                   "file name).",
    "additionalProperties": False,
    "required": ["file", "lecture", "lecture_id", "course", "kind", "start_s", "end_s", "page", "score", "snippet",
                 "url", "confident", "shown_in", "slide_ref", "segment_id", "language", "evidence"],
    "properties": {
        "file": {"type": "string", "description": "Source file name."},
        "lecture": {"type": "string"},
        "lecture_id": {"type": "integer"},
        "course": {"type": "string"},
        "kind": {"type": "string", "enum": ["video", "audio", "pdf"]},
        "start_s": {**NUM_OR_NULL, "description": "Where the answer begins (null for PDF pages)."},
        "end_s": NUM_OR_NULL,
        "page": {**INT_OR_NULL, "description": "PDF page (1-based), null for video/audio."},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "snippet": {"type": "string"},
        "url": {"type": "string", "description": "Jump link, e.g. /watch/3?t=47 or /pdf/5?page=2."},
        "confident": {"type": "boolean"},
        "shown_in": {"type": "array", "items": {"$ref": "#/components/schemas/Link"},
                     "description": "For PDF pages: the lecture moments that showed the page."},
        "slide_ref": {"oneOf": [{"$ref": "#/components/schemas/Link"}, {"type": "null"}],
                      "description": "For video moments: the PDF page of the slide shown."},
        "segment_id": INT_OR_NULL,
        "language": {"type": ["string", "null"], "description": "Spoken language of the lecture (ISO 639-1)."},
        "evidence": {"type": ["string", "null"], "enum": ["speech", "slide", "page", "clip", None],
                     "description": "What carried the match: a spoken sentence, a slide on screen, a PDF page, "
                                    "or the clip's slides and speech together; null for image matches."},
    },
}

SEARCH_RESPONSE = {
    "type": "object", "additionalProperties": False,
    "required": ["query", "took_ms", "answered", "confidence_threshold", "results"],
    "properties": {
        "query": {"type": "object", "additionalProperties": False,
                  "required": ["q", "k", "course", "image", "audio"],
                  "properties": {"q": {"type": "string"}, "k": {"type": "integer"},
                                 "course": {"type": ["string", "null"]}, "image": {"type": "boolean"},
                                 "audio": {"type": "boolean"}}},
        "took_ms": {"type": "number"},
        "answered": {"type": "boolean", "description": "The best result scores at least confidence_threshold; "
                     "when false the results are the closest moments, not an answer."},
        "confidence_threshold": {"type": "number"},
        "results": {"type": "array", "items": {"$ref": "#/components/schemas/Moment"}},
    },
}

LECTURE: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "required": ["id", "title", "course", "kind", "file", "duration_s", "pages", "url", "media_url", "captions_url",
                 "language"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "course": {"type": "string"},
        "kind": {"type": "string", "enum": ["video", "audio", "pdf"]}, "file": {"type": "string"},
        "duration_s": NUM_OR_NULL, "pages": INT_OR_NULL, "url": {"type": "string"},
        "media_url": {"type": "string"}, "captions_url": {"type": ["string", "null"]},
        "language": {"type": ["string", "null"]},
        "n_segments": {"type": "integer"},
    },
}

LECTURE_DETAIL = {
    "type": "object", "additionalProperties": False,
    "required": LECTURE["required"] + ["slides", "transcript", "n_segments", "chapters"],
    "properties": {
        **LECTURE["properties"],
        "chapters": {"type": "array", "description": "One per distinct slide title (a PDF: none).", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["start_s", "end_s", "title", "url", "thumbnail_url"],
            "properties": {"start_s": {"type": "number"}, "end_s": {"type": "number"}, "title": {"type": "string"},
                           "url": {"type": "string"}, "thumbnail_url": {"type": ["string", "null"]}}}},
        "slides": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["index", "start_s", "end_s", "page", "text", "thumbnail_url"],
            "properties": {"index": {"type": "integer"}, "start_s": NUM_OR_NULL, "end_s": NUM_OR_NULL,
                           "page": INT_OR_NULL, "text": {"type": "string"},
                           "thumbnail_url": {"type": ["string", "null"]}}}},
        "transcript": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["start_s", "end_s", "text"],
            "properties": {"start_s": {"type": "number"}, "end_s": {"type": "number"}, "text": {"type": "string"}}}},
    },
}

ERROR = {"type": "object", "additionalProperties": False, "required": ["error"], "properties": {
    "error": {"type": "object", "additionalProperties": False, "required": ["code", "message"],
              "properties": {"code": {"type": "integer"}, "message": {"type": "string"}}}}}


def _err(desc: str) -> dict:
    return {"description": desc, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _ok(ref: str, desc: str = "OK") -> dict:
    return {"description": desc,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def openapi_document(server_url: str = "/") -> dict:
    k_param = {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10}}
    course_param = {"name": "course", "in": "query", "schema": {"type": "string"}, "description": "Only this course."}
    search_errors = {"400": _err("Bad or unanswerable query"), "413": _err("Upload too large"),
                     "415": _err("Upload is not an image / audio file"), "429": _err("Rate limited (see Retry-After)"),
                     "503": _err("No index yet")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "LectureFind API", "version": "1",
                 "description": "Search lecture videos, audio and slide PDFs; answers are moments to jump to."},
        "servers": [{"url": server_url or "/"}],
        "paths": {
            "/api/search": {
                "get": {"summary": "Search with a text question", "operationId": "searchGet",
                        "parameters": [{"name": "q", "in": "query", "required": True,
                                        "schema": {"type": "string", "maxLength": MAX_QUERY_CHARS}},
                                       k_param, course_param],
                        "responses": {"200": _ok("SearchResponse"), **search_errors}},
                "post": {"summary": "Search with a question, a slide photo and/or a spoken question",
                         "operationId": "searchPost",
                         "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                             "type": "object",
                             "properties": {"q": {"type": "string", "maxLength": MAX_QUERY_CHARS},
                                            "k": {"type": "integer", "minimum": 1, "maximum": MAX_K},
                                            "course": {"type": "string"},
                                            "image": {"type": "string", "contentMediaType": "image/*"},
                                            "audio": {"type": "string", "contentMediaType": "audio/*"}}}}}},
                         "responses": {"200": _ok("SearchResponse"), **search_errors}},
            },
            "/api/lectures": {"get": {
                "summary": "All indexed lectures and documents", "operationId": "listLectures",
                "parameters": [course_param], "responses": {"200": _ok("LectureList")}}},
            "/api/lectures/{id}": {"get": {
                "summary": "One lecture with its slides and transcript", "operationId": "getLecture",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _ok("LectureDetail"), "404": _err("No such lecture")}}},
            "/api/openapi.json": {"get": {"summary": "This document", "operationId": "openapi",
                                          "responses": {"200": {"description": "OpenAPI document",
                                                                "content": {"application/json": {}}}}}},
        },
        "components": {"schemas": {
            "Moment": MOMENT, "Link": LINK, "SearchResponse": SEARCH_RESPONSE, "Lecture": LECTURE,
            "LectureList": {"type": "object", "additionalProperties": False, "required": ["lectures"],
                            "properties": {"lectures": {"type": "array",
                                                        "items": {"$ref": "#/components/schemas/Lecture"}}}},
            "LectureDetail": LECTURE_DETAIL, "Error": ERROR,
        }},
    }
