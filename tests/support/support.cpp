// Anchor translation unit of lwm2m_test_support (header-only doubles live beside it).
#include "support/capture_logger.hpp"
