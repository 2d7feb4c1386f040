"""Views that leave the server: one self-contained HTML file, images and animations of it."""
