#include <lwm2m/http/bridge.hpp>

#include <lwm2m/transport/loop.hpp>

namespace lwm2m::http {

EngineExecutor EngineExecutor::for_loop(transport::LoopBase& loop) {
    return EngineExecutor([&loop](Task t) { loop.post(std::move(t)); });
}

} // namespace lwm2m::http
