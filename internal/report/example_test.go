package report_test

import (
	"math"
	"os"

	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
)

func ExampleImageTable() {
	nan := math.NaN()
	tab, err := report.ImageTable("MVTec AD", []results.ImageResult{
		{Category: "carpet", Method: "DRAEM", PixelAUROC: 0.955, PixelAP: 0.535, ImageAUROC: 0.97, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan},
		{Category: "carpet", Method: "DRAEM+CA", PixelAUROC: 0.962, PixelAP: 0.601, ImageAUROC: 0.984, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan},
		{Category: "bottle", Method: "DRAEM", PixelAUROC: 0.991, PixelAP: 0.865, ImageAUROC: 0.992, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan},
		{Category: "bottle", Method: "DRAEM+CA", PixelAUROC: 0.99, PixelAP: 0.8736, ImageAUROC: 1, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan},
	})
	if err != nil {
		panic(err)
	}
	if err := tab.WriteMarkdown(os.Stdout); err != nil {
		panic(err)
	}
	// Output:
	// ### MVTec AD
	//
	// | Group | Category | DRAEM P-AUROC | DRAEM P-AP | DRAEM I-AUROC | DRAEM+CA P-AUROC | DRAEM+CA P-AP | DRAEM+CA I-AUROC |
	// | :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: |
	// | textures | carpet | 95.5 | 53.5 | 97.0 | 96.2 | 60.1 | 98.4 |
	// | objects | bottle | 99.1 | 86.5 | 99.2 | 99.0 | 87.4 | 100.0 |
	// | **textures** | **mean** | **95.5** | **53.5** | **97.0** | **96.2** | **60.1** | **98.4** |
	// | **objects** | **mean** | **99.1** | **86.5** | **99.2** | **99.0** | **87.4** | **100.0** |
	// | **all** | **mean** | **97.3** | **70.0** | **98.1** | **97.6** | **73.7** | **99.2** |
	//
	// Values are percentages (fraction x 100) rounded to one decimal; means are taken over unrounded per-category values, and a mean with an absent member is absent (-).
	// P- = pixel level, I- = image level.
}
