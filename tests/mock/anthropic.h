/* The Anthropic Messages dialect (anthropic.c): answers one request to
   /v1/messages into 'res'. */
#ifndef MOCK_ANTHROPIC_H
#define MOCK_ANTHROPIC_H

#include "dialect.h"

void ant_handle(const dl_config *cfg, const http_request *req, dl_result *res);

#endif
