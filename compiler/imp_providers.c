/* imp_providers: the providers LiteLLM and Portkey configs name, and what
   each is in the language.  Everything that speaks OpenAI's chat
   completions is kind openai at its base URL (Azure OpenAI through its v1
   API, which takes OpenAI's requests and the key as a bearer token);
   Anthropic and Bedrock are their own kinds.  Providers with another
   wire format (Vertex AI, Gemini, Cohere ...) have no equivalent and
   stop the import with an error naming them. */
#include <string.h>

#include "importer.h"

static const imp_known known[] = {
    { "openai", "openai", RV_PROV_OPENAI, "https://api.openai.com/v1", "OPENAI_API_KEY", NULL },
    { "text-completion-openai", NULL, RV_PROV_OPENAI, "https://api.openai.com/v1", "OPENAI_API_KEY", NULL },
    { "custom_openai", NULL, RV_PROV_OPENAI, NULL, "OPENAI_API_KEY", NULL },
    { "anthropic", "anthropic", RV_PROV_ANTHROPIC, "https://api.anthropic.com/v1", "ANTHROPIC_API_KEY", "/v1" },
    { "bedrock", "bedrock", RV_PROV_BEDROCK, NULL, NULL, NULL },
    { "azure", "azure-openai", RV_PROV_OPENAI, NULL, "AZURE_API_KEY", "/openai/v1" },
    { "azure_ai", "azure-ai", RV_PROV_OPENAI, NULL, "AZURE_AI_API_KEY", NULL },
    { "mistral", "mistral-ai", RV_PROV_OPENAI, "https://api.mistral.ai/v1", "MISTRAL_API_KEY", NULL },
    { "groq", "groq", RV_PROV_OPENAI, "https://api.groq.com/openai/v1", "GROQ_API_KEY", NULL },
    { "together_ai", "together-ai", RV_PROV_OPENAI, "https://api.together.xyz/v1", "TOGETHERAI_API_KEY", NULL },
    { "deepseek", "deepseek", RV_PROV_OPENAI, "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", NULL },
    { "fireworks_ai", "fireworks-ai", RV_PROV_OPENAI, "https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY",
      NULL },
    { "openrouter", "openrouter", RV_PROV_OPENAI, "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", NULL },
    { "xai", "x-ai", RV_PROV_OPENAI, "https://api.x.ai/v1", "XAI_API_KEY", NULL },
    { "perplexity", "perplexity-ai", RV_PROV_OPENAI, "https://api.perplexity.ai", "PERPLEXITYAI_API_KEY", NULL },
    { "ollama", "ollama", RV_PROV_OPENAI, "http://127.0.0.1:11434/v1", NULL, "/v1" },
    { "ollama_chat", NULL, RV_PROV_OPENAI, "http://127.0.0.1:11434/v1", NULL, "/v1" },
    { "hosted_vllm", NULL, RV_PROV_OPENAI, NULL, NULL, NULL },
    { "lm_studio", "lm-studio", RV_PROV_OPENAI, "http://127.0.0.1:1234/v1", NULL, NULL },
};

static const char *const unsupported[] = {
    "vertex_ai", "vertex-ai", "gemini", "google", "cohere", "cohere_chat", "huggingface", "replicate",
    "sagemaker", "sagemaker_chat", "watsonx", "palm", "ai21", "nlp_cloud", "aleph_alpha", "petals",
    "cloudflare", "databricks", "predibase", "clarifai", "voyage", "triton", "vertex_ai_beta", NULL
};

const imp_known *imp_known_provider(const char *name, int portkey)
{
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        const char *n = portkey ? known[i].portkey : known[i].litellm;
        if (n && !strcmp(n, name))
            return &known[i];
    }
    return NULL;
}

static int is_unsupported(const char *name)
{
    for (const char *const *u = unsupported; *u; u++)
        if (!strcmp(*u, name))
            return 1;
    return 0;
}

const imp_known *imp_provider_named(imp *im, const cfg_node *at, const char *name, int portkey)
{
    const imp_known *k = imp_known_provider(name, portkey);
    if (k)
        return k;
    if (is_unsupported(name))
        imp_fail(im, at, "provider '%s' has no equivalent: routevm calls OpenAI-compatible servers, Anthropic "
                         "and Bedrock", name);
    else
        imp_fail(im, at, "unknown provider '%s'", name);
    return NULL;
}

const char *imp_host_label(const char *url, char *buf, size_t len)
{
    const char *h = strstr(url, "://");
    h = h ? h + 3 : url;
    size_t n = strcspn(h, ".:/");
    if (n >= len)
        n = len - 1;
    memcpy(buf, h, n);
    buf[n] = 0;
    return buf;
}

const char *imp_base_url(imp *im, const char *url, const char *suffix)
{
    size_t n = strlen(url);
    while (n && url[n - 1] == '/')
        n--;
    size_t s = suffix ? strlen(suffix) : 0;
    int has = s && n >= s && !memcmp(url + n - s, suffix, s);
    /* Anthropic's base URL may be given down to its endpoint */
    if (suffix && !has && n >= 12 && !memcmp(url + n - 12, "/v1/messages", 12)) {
        n -= 9;
        has = 1;
    }
    return arena_printf(imp_arena(im), "%.*s%s", (int)n, url, s && !has ? suffix : "");
}

void imp_aws_keys(imp *im, const cfg_node *map)
{
    static const char *const keys[] = { "aws_access_key_id", "AWS_ACCESS_KEY_ID", "aws_secret_access_key",
                                        "AWS_SECRET_ACCESS_KEY", "aws_session_token", "AWS_SESSION_TOKEN", NULL };
    for (const char *const *k = keys; *k; k += 2) {
        const cfg_node *n = cfg_get(map, k[0]);
        const char *v = n ? imp_str(im, n) : NULL;
        if (!v)
            continue;
        int env = !strncmp(v, "os.environ/", 11);
        if (env && !strcmp(v + 11, k[1]))
            continue;
        if (env)
            imp_note(im, n, "not used: Bedrock calls are signed with %s from the environment (set it there)", k[1]);
        else
            imp_warn(im, n, "a literal AWS credential is not copied into the policy: Bedrock calls are signed "
                            "with %s from the environment (set it there)", k[1]);
    }
}
