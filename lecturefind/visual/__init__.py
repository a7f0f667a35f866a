"""Visual matching: local descriptors of slide keyframes and PDF pages, image queries, page↔video links."""
