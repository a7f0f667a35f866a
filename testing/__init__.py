"""Test fakes and generators (Gemini fake server, phone-photo distortions); not part of the product."""
