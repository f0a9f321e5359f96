from domain.ai.models import AiConversation
from domain.sql import load_queries

CONVERSATION_COLUMNS = ", ".join(AiConversation.__struct_fields__)
Q = load_queries(__file__, conversation_columns=CONVERSATION_COLUMNS)
