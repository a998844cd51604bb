/* The OpenAI chat-completions dialect (openai.c): answers one request to
   {prefix}/chat/completions into 'res'. */
#ifndef MOCK_OPENAI_H
#define MOCK_OPENAI_H

#include "dialect.h"

void oai_handle(const dl_config *cfg, const http_request *req, dl_result *res);

#endif
