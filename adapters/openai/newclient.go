package openai

import (
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/conversations"
	"github.com/openai/openai-go/v3/live"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/realtime"
	"github.com/openai/openai-go/v3/responses"
	"github.com/openai/openai-go/v3/webhooks"
)

// newClient returns the client that openai.NewClient(opts...) returns, but
// for the environment: openai.NewClient applies the OPENAI_ variables it
// finds (DefaultClientOptions) before opts, reading them at the time of the
// call, so a client built with it depends on two readings of the
// environment, ours and its own. newClient applies opts alone, so that a
// client depends on its Config alone.
//
// It does what openai.NewClient of openai-go v3.98.0 does: wrap opts in one
// inherited option layer, as every service constructor does (here through
// NewModelService, whose Options is that layer), and build every service
// over it. TestNewClientHasEveryService checks that no service is missing.
func newClient(opts ...option.RequestOption) openai.Client {
	opts = openai.NewModelService(opts...).Options
	r := openai.Client{Options: opts}
	r.Decisions = openai.NewDecisionService(opts...)
	r.Completions = openai.NewCompletionService(opts...)
	r.Chat = openai.NewChatService(opts...)
	r.Embeddings = openai.NewEmbeddingService(opts...)
	r.Files = openai.NewFileService(opts...)
	r.Images = openai.NewImageService(opts...)
	r.ContentProvenanceChecks = openai.NewContentProvenanceCheckService(opts...)
	r.Audio = openai.NewAudioService(opts...)
	r.Moderations = openai.NewModerationService(opts...)
	r.Models = openai.NewModelService(opts...)
	r.FineTuning = openai.NewFineTuningService(opts...)
	r.Graders = openai.NewGraderService(opts...)
	r.VectorStores = openai.NewVectorStoreService(opts...)
	r.Safety = openai.NewSafetyService(opts...)
	r.Webhooks = webhooks.NewWebhookService(opts...)
	r.Beta = openai.NewBetaService(opts...)
	r.Batches = openai.NewBatchService(opts...)
	r.Uploads = openai.NewUploadService(opts...)
	r.Admin = openai.NewAdminService(opts...)
	r.Responses = responses.NewResponseService(opts...)
	r.Live = live.NewLiveService(opts...)
	r.Realtime = realtime.NewRealtimeService(opts...)
	r.Conversations = conversations.NewConversationService(opts...)
	r.Containers = openai.NewContainerService(opts...)
	r.Skills = openai.NewSkillService(opts...)
	// Deprecated by openai-go, but set by openai.NewClient, so set here too.
	r.Videos = openai.NewVideoService(opts...) //lint:ignore SA1019 openai.NewClient sets it

	return r
}
