// Downloading the KPI table as XLSX or CSV: the file is fetched with the user's token
// (a plain link could not send it) and handed to the browser as a download.

import { getToken, query } from "./api.js";
import { h } from "./dom.js";
import { locale, t } from "./i18n.js";

const TEXT = {
  label: t("download.label"),
  xlsx: t("download.xlsx"),
  csv: t("download.csv"),
  failed: t("download.failed"),
};

async function download(format, params, link) {
  const response = await fetch(`/api/v1/kpi/export${query({ ...params, format, lang: locale })}`, {
    headers: { Authorization: `Bearer ${getToken()}` },
  });
  if (!response.ok) {
    link.title = `${TEXT.failed} (HTTP ${response.status})`;
    link.classList.add("failed");
    return;
  }
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || `kpi.${format}`;
  const url = URL.createObjectURL(await response.blob());
  const save = h("a", { href: url, download: name, hidden: true });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/** "Download: Excel (XLSX) · CSV" for the table `params` (period, employee, indicator) selects. */
export function downloadLinks(params) {
  const item = (format) => {
    const link = h("a", {
      href: "#",
      class: "download",
      dataset: { format },
      onclick: (event) => {
        event.preventDefault();
        download(format, params, link);
      },
    }, TEXT[format]);
    return link;
  };
  return h("span", { class: "downloads" }, TEXT.label, " ", item("xlsx"), " · ", item("csv"));
}
