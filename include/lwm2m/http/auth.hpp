// Bearer-token authentication of the REST API (RFC 6750 §2.1): every route except the public ones
// (GET /api/health) needs "Authorization: Bearer <token>". The token is 32 random bytes written
// as 64 lower-case hex characters; it is compared in constant time and never logged or echoed.
#pragma once

#include <filesystem>
#include <string_view>

#include <lwm2m/base/random.hpp>
#include <lwm2m/base/result.hpp>
#include <lwm2m/base/secret.hpp>
#include <lwm2m/http/router.hpp>

namespace lwm2m::http {

/// The token file's name inside the data directory.
inline constexpr std::string_view token_file_name = "api-token";

/// A fresh token: 32 bytes from `rng` as 64 hex characters.
[[nodiscard]] SecretBytes generate_token(Random& rng);

/// Reads `<data_dir>/api-token`, or, when it does not exist, generates a token and writes it
/// atomically with mode 0600 (`*created` tells which). Surrounding whitespace is ignored.
/// Errors: errno codes of the file calls; lwm2m::Errc::invalid_state when the existing file is
/// readable by group or others (fix its mode: the token must stay private);
/// lwm2m::Errc::parse_error when it is empty, longer than 1024 bytes or holds characters
/// outside visible ASCII.
[[nodiscard]] Result<SecretBytes> load_or_create_token(const std::filesystem::path& data_dir,
                                                       Random& rng, bool* created = nullptr);

/// True when `req` carries "Authorization: Bearer <token>" (scheme case-insensitive) equal to
/// `token` (constant time in the token's bytes). With `allow_query`, an `access_token` query
/// parameter is accepted too (RFC 6750 §2.3; for browsers' EventSource, which cannot set headers).
[[nodiscard]] bool check_bearer(const Request& req, const SecretBytes& token, bool allow_query);

/// An Authenticator for Router::set_authenticator: check_bearer, with the query form accepted
/// only on GET /api/events.
[[nodiscard]] Authenticator bearer_authenticator(SecretBytes token);

} // namespace lwm2m::http
