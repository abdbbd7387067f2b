"""Message templates: the variable model, sandboxed Jinja2 rendering, HTML→text.

`validate(template)` at save time, `render(template, variables)` at send time; both
raise `hub.errors.TemplateError` naming the part and the line.
"""

from hub.templates.html_text import html_to_text
from hub.templates.rendering import CompiledTemplate, check, compile_template, render, validate
from hub.templates.template import (
    EmailTemplate,
    Part,
    Rendered,
    RenderedEmail,
    RenderedSms,
    SmsTemplate,
    Template,
    template_from,
)
from hub.templates.variables import (
    VARIABLE_MODEL,
    CampaignVariables,
    CompanyVariables,
    ContactVariables,
    EmployeeVariables,
    TemplateVariables,
)

__all__ = [
    "VARIABLE_MODEL",
    "CampaignVariables",
    "CompanyVariables",
    "CompiledTemplate",
    "ContactVariables",
    "EmailTemplate",
    "EmployeeVariables",
    "Part",
    "Rendered",
    "RenderedEmail",
    "RenderedSms",
    "SmsTemplate",
    "Template",
    "TemplateVariables",
    "check",
    "compile_template",
    "html_to_text",
    "render",
    "template_from",
    "validate",
]
