"""Generic OAuth 2 for the kinds that declare it: authorization code + PKCE, token refresh,
encrypted token storage. A kind only says where its endpoints are and who a token acts for."""
